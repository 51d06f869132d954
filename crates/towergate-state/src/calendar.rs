//! Proleptic Gregorian calendar arithmetic on days since 1970-01-01 (UTC).
//!
//! The conversions follow Howard Hinnant's `days_from_civil` and
//! `civil_from_days` algorithms: pure integer arithmetic, exact for every
//! day an `i64` of seconds can name.

/// Seconds in one day.
pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Days in a 400-year era.
const DAYS_PER_ERA: i64 = 146_097;

/// Days from 0000-03-01 to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Date {
    pub(crate) year: i64,
    /// 1 to 12.
    pub(crate) month: u32,
    /// 1 to 31.
    pub(crate) day: u32,
}

/// Days since 1970-01-01 of `year-month-day` (`month` 1 to 12).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT
}

/// The date `days` after 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> Date {
    let shifted = days + EPOCH_SHIFT;
    let era = shifted.div_euclid(DAYS_PER_ERA);
    let day_of_era = shifted - era * DAYS_PER_ERA;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Both are in range by construction: 1..=31 and 1..=12.
    Date {
        year,
        month: u32::try_from(month).unwrap_or(1),
        day: u32::try_from(day).unwrap_or(1),
    }
}

/// The days since 1970-01-01 of the Monday that starts the ISO week of `days`.
pub(crate) fn monday_of(days: i64) -> i64 {
    // 1970-01-01 was a Thursday, so 1969-12-29 (day -3) was a Monday.
    (days + 3).div_euclid(7) * 7 - 3
}

/// The ISO week-numbering year and week (1 to 53) of the week starting on `monday`.
pub(crate) fn iso_week(monday: i64) -> (i64, u32) {
    // A week belongs to the year that holds its Thursday.
    let thursday = monday + 3;
    let year = civil_from_days(thursday).year;
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    (year, u32::try_from(week).unwrap_or(1))
}

/// The first day of the month after `year-month`, as days since 1970-01-01.
pub(crate) fn first_of_next_month(year: i64, month: u32) -> i64 {
    if month >= 12 {
        days_from_civil(year + 1, 1, 1)
    } else {
        days_from_civil(year, month + 1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i64, month: u32, day: u32) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn known_days_round_trip() {
        let cases = [
            (0, date(1970, 1, 1)),
            (-1, date(1969, 12, 31)),
            (59, date(1970, 3, 1)),
            (11_016, date(2000, 2, 29)),
            (11_017, date(2000, 3, 1)),
            (19_782, date(2024, 2, 29)),
            (20_397, date(2025, 11, 5)),
            (-719_468, date(0, 3, 1)),
        ];
        for (days, expected) in cases {
            assert_eq!(civil_from_days(days), expected, "day {days}");
            assert_eq!(
                days_from_civil(expected.year, expected.month, expected.day),
                days,
                "{expected:?}"
            );
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = days_from_civil(1900, 1, 1);
        let end = days_from_civil(2300, 1, 1);
        let mut previous = civil_from_days(start - 1);
        for days in start..end {
            let current = civil_from_days(days);
            assert_eq!(
                days_from_civil(current.year, current.month, current.day),
                days
            );
            let next_day = current.day == previous.day + 1 && current.month == previous.month;
            let next_month = current.day == 1
                && (current.month == previous.month + 1
                    || (current.month == 1 && previous.month == 12));
            assert!(next_day || next_month, "{previous:?} then {current:?}");
            previous = current;
        }
    }

    #[test]
    fn weeks_start_on_monday_and_take_the_year_of_their_thursday() {
        // 2025-11-05 is a Wednesday; its week starts on Monday 2025-11-03.
        let wednesday = days_from_civil(2025, 11, 5);
        assert_eq!(monday_of(wednesday), days_from_civil(2025, 11, 3));
        assert_eq!(iso_week(monday_of(wednesday)), (2025, 45));
        // A Monday is its own week's start; a Sunday belongs to the week before.
        let monday = days_from_civil(2025, 11, 10);
        assert_eq!(monday_of(monday), monday);
        assert_eq!(monday_of(monday - 1), days_from_civil(2025, 11, 3));
        // 2021-01-01 (a Friday) is in week 53 of 2020.
        let new_year = days_from_civil(2021, 1, 1);
        assert_eq!(iso_week(monday_of(new_year)), (2020, 53));
        // 2024-12-30 (a Monday) starts week 1 of 2025.
        let late_december = days_from_civil(2024, 12, 30);
        assert_eq!(iso_week(monday_of(late_december)), (2025, 1));
        // Before the epoch too.
        assert_eq!(monday_of(-1), -3);
        assert_eq!(monday_of(-4), -10);
    }

    #[test]
    fn next_month_wraps_the_year() {
        assert_eq!(first_of_next_month(2025, 12), days_from_civil(2026, 1, 1));
        assert_eq!(first_of_next_month(2024, 2), days_from_civil(2024, 3, 1));
    }
}
