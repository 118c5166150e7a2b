//! SMS segment count, as Twilio reports it in `num_segments` (TWILIO_FACTS B7).
//!
//! GSM-7: 160 septets in one segment, 153 per part when split; extension-table characters
//! (`^{}\[~]|€` and form feed) take two septets and are never split across parts. One character
//! outside GSM-7 makes the whole body UCS-2: 70 UTF-16 units, then 67 per part, surrogate pairs
//! kept whole.

/// GSM 03.38 basic character set (the escape code itself excluded).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// GSM 03.38 extension table: each costs an escape plus itself.
const GSM_EXTENSION: &str = "^{}\\[~]|€\u{000C}";

/// Septets `c` takes in GSM-7, or `None` when it forces UCS-2.
fn gsm_septets(c: char) -> Option<usize> {
    if GSM_BASIC.contains(c) {
        Some(1)
    } else if GSM_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// Packs units into parts of `per_part`, never splitting one unit's cost.
fn pack(costs: impl Iterator<Item = usize>, per_part: usize) -> u32 {
    let mut parts = 1;
    let mut used = 0;
    for cost in costs {
        if used + cost > per_part {
            parts += 1;
            used = 0;
        }
        used += cost;
    }
    parts
}

/// The number of segments `body` is sent in; at least 1 (an empty body rides with its media).
pub fn count(body: &str) -> u32 {
    let septets: Option<Vec<usize>> = body.chars().map(gsm_septets).collect();
    match septets {
        Some(costs) => {
            if costs.iter().sum::<usize>() <= 160 {
                1
            } else {
                pack(costs.into_iter(), 153)
            }
        }
        None => {
            let costs: Vec<usize> = body.chars().map(char::len_utf16).collect();
            if costs.iter().sum::<usize>() <= 70 {
                1
            } else {
                pack(costs.into_iter(), 67)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn gsm7_fits_160_then_splits_by_153() {
        assert_eq!(count(""), 1);
        assert_eq!(count(&"a".repeat(160)), 1);
        assert_eq!(count(&"a".repeat(161)), 2);
        assert_eq!(count(&"a".repeat(306)), 2);
        assert_eq!(count(&"a".repeat(307)), 3);
    }

    #[test]
    fn extension_characters_cost_two_septets() {
        assert_eq!(count(&"€".repeat(80)), 1);
        assert_eq!(count(&"€".repeat(81)), 2);
        // 152 septets of 'a' then a two-septet '€' cannot share the first part.
        let body = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        assert_eq!(count(&body), 2);
    }

    #[test]
    fn one_non_gsm_character_makes_it_ucs2() {
        assert_eq!(count(&"a".repeat(70)), 1);
        assert_eq!(count(&format!("{}ł", "a".repeat(69))), 1);
        assert_eq!(count(&format!("{}ł", "a".repeat(70))), 2);
        assert_eq!(count(&format!("{}ł", "a".repeat(133))), 2);
        assert_eq!(count(&format!("{}ł", "a".repeat(134))), 3);
    }

    #[test]
    fn surrogate_pairs_count_two_and_stay_whole() {
        // 35 emoji = 70 UTF-16 units: one segment; 36 do not fit.
        assert_eq!(count(&"😀".repeat(35)), 1);
        assert_eq!(count(&"😀".repeat(36)), 2);
    }
}
