//! Charts as server-rendered SVG: stacked bars (calls per day by outcome), horizontal bars (call
//! reasons) and a weekday × hour heat map (busiest hours). No script and no style attributes (the
//! console's CSP forbids both): colours are SVG presentation attributes, every bar and cell carries
//! a `<title>` with its number, and each page gives a table of the same numbers as the text
//! alternative. Text is escaped here, because templates insert the SVG as it is.

use std::fmt::Write;

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One series of a stacked bar chart: its name, colour and one value per category.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// `#rrggbb`.
    pub color: &'static str,
    pub values: Vec<i64>,
}

/// A legend entry: the series' name and a swatch of its colour, as HTML (an inline SVG square, so
/// the colour needs no style attribute).
#[derive(Debug, Clone)]
pub struct LegendItem {
    pub name: String,
    pub swatch: String,
}

pub fn legend(series: &[Series]) -> Vec<LegendItem> {
    series
        .iter()
        .map(|s| LegendItem {
            name: s.name.clone(),
            swatch: swatch(s.color),
        })
        .collect()
}

/// A small coloured square for a legend.
pub fn swatch(color: &str) -> String {
    format!(
        "<svg class=\"swatch-svg\" width=\"12\" height=\"12\" viewBox=\"0 0 12 12\" aria-hidden=\"true\" focusable=\"false\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/></svg>",
        esc(color)
    )
}

/// The smallest "nice" number (1, 2 or 5 × 10ⁿ) at least `max` / 4, for grid lines.
fn tick_step(max: i64) -> i64 {
    let rough = (max as f64 / 4.0).max(1.0);
    let mag = 10f64.powi(rough.log10().floor() as i32);
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * mag);
    (step as i64).max(1)
}

/// A count with its unit, singular or plural: `1 call`, `2 calls`.
pub fn count(n: i64, unit: Unit) -> String {
    format!("{n} {}", if n == 1 { unit.0 } else { unit.1 })
}

/// A unit's singular and plural (`("call", "calls")`).
pub type Unit = (&'static str, &'static str);

/// Stacked vertical bars, one per category (`labels`), the series stacked bottom up in order.
/// `title` names the chart for assistive technology; `unit` words a value.
pub fn stacked_bars(title: &str, labels: &[String], series: &[Series], unit: Unit) -> String {
    let (w, h) = (720.0_f64, 260.0_f64);
    let (left, right, top, bottom) = (40.0, 10.0, 12.0, 36.0);
    let n = labels.len().max(1);
    let totals: Vec<i64> = (0..labels.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let step = tick_step(max);
    let top_value = (max + step - 1) / step * step;
    let plot_h = h - top - bottom;
    let plot_w = w - left - right;
    let y = |v: i64| top + plot_h - (v as f64 / top_value as f64) * plot_h;
    let slot = plot_w / n as f64;
    let bar_w = (slot * 0.7).max(1.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    // Grid lines with their values.
    let mut v = 0;
    while v <= top_value {
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e5e7eb\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
            w - right,
            left - 6.0,
            yy + 4.0
        );
        v += step;
    }
    // Label every k-th category so the labels never overlap.
    let every = n.div_ceil(12).max(1);
    for (i, label) in labels.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - bar_w) / 2.0;
        let mut base = 0;
        for s in series {
            let value = s.values.get(i).copied().unwrap_or(0);
            if value <= 0 {
                continue;
            }
            let (y1, y0) = (y(base + value), y(base));
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{bar_w:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {} ({})</title></rect>",
                (y0 - y1).max(0.5),
                s.color,
                esc(label),
                esc(&count(value, unit)),
                esc(&s.name.to_lowercase())
            );
            base += value;
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bar_w / 2.0,
                h - bottom + 16.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        svg,
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#6b7280\"/></svg>",
        w - right,
        y(0),
        y(0)
    );
    svg
}

/// Horizontal bars, one per `(label, value)`, longest scale at the largest value.
pub fn horizontal_bars(title: &str, items: &[(String, i64)], color: &str, unit: Unit) -> String {
    let row = 26.0_f64;
    let (w, left, right) = (720.0_f64, 190.0_f64, 60.0_f64);
    let h = row * items.len().max(1) as f64 + 8.0;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let len = (w - left - right) * (*value as f64 / max as f64);
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            left - 8.0,
            y + row / 2.0 + 4.0,
            esc(label),
            y + 3.0,
            len.max(if *value > 0 { 2.0 } else { 0.0 }),
            row - 6.0,
            esc(color),
            esc(label),
            esc(&count(*value, unit)),
            left + len + 6.0,
            y + row / 2.0 + 4.0,
            value
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The shades of the heat map, from no calls to the busiest hour.
const HEAT: [&str; 6] = [
    "#f3f4f6", "#dbeafe", "#93c5fd", "#3b82f6", "#1d4ed8", "#1e3a8a",
];

/// The shade for `v` of at most `max`: blank for none, then five steps.
fn heat(v: i64, max: i64) -> &'static str {
    if v <= 0 || max <= 0 {
        return HEAT[0];
    }
    let step = ((v as f64 / max as f64) * 5.0).ceil() as usize;
    HEAT[step.clamp(1, 5)]
}

/// A weekday × hour heat map: `rows` are (weekday name, 24 counts).
pub fn heat_map(title: &str, rows: &[(String, Vec<i64>)], unit: Unit) -> String {
    let (cell_w, cell_h, left, top) = (26.0_f64, 24.0_f64, 44.0_f64, 20.0_f64);
    let w = left + cell_w * 24.0 + 4.0;
    let h = top + cell_h * rows.len() as f64 + 4.0;
    let max = rows
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .max()
        .unwrap_or(0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        esc(title)
    );
    for hour in (0..24).step_by(3) {
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"14\" text-anchor=\"middle\">{hour:02}</text>",
            left + cell_w * hour as f64 + cell_w / 2.0
        );
    }
    for (r, (day, counts)) in rows.iter().enumerate() {
        let y = top + cell_h * r as f64;
        let short: String = day.chars().take(3).collect();
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + cell_h / 2.0 + 4.0,
            esc(&short)
        );
        for (hour, v) in counts.iter().enumerate().take(24) {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{}\"><title>{} {hour:02}:00–{:02}:00: {}</title></rect>",
                left + cell_w * hour as f64 + 1.0,
                y + 1.0,
                cell_w - 2.0,
                cell_h - 2.0,
                heat(*v, max),
                esc(day),
                (hour + 1) % 24,
                esc(&count(*v, unit))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The heat map's legend: its shades from none to the busiest, as swatches.
pub fn heat_legend() -> Vec<LegendItem> {
    let names = ["none", "few", "", "", "", "most"];
    HEAT.iter()
        .zip(names)
        .map(|(c, n)| LegendItem {
            name: n.to_string(),
            swatch: swatch(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLS: Unit = ("call", "calls");

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
        let svg = horizontal_bars("A <chart>", &[("x<y".into(), 3)], "#000", CALLS);
        assert!(svg.contains("x&lt;y: 3 calls"), "{svg}");
        assert!(!svg.contains("<chart>"));
    }

    #[test]
    fn bars_carry_their_numbers_in_titles() {
        let series = [
            Series {
                name: "Answered".into(),
                color: "#15803d",
                values: vec![2, 0],
            },
            Series {
                name: "Missed".into(),
                color: "#b91c1c",
                values: vec![1, 4],
            },
        ];
        let svg = stacked_bars("Calls", &["Mon".into(), "Tue".into()], &series, CALLS);
        assert!(
            svg.contains("<title>Mon: 2 calls (answered)</title>"),
            "{svg}"
        );
        assert!(svg.contains("<title>Mon: 1 call (missed)</title>"), "{svg}");
        assert!(
            svg.contains("<title>Tue: 4 calls (missed)</title>"),
            "{svg}"
        );
        // No bar for a zero.
        assert!(!svg.contains("Tue: 0 calls (answered)"));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn grid_steps_are_round() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(7), 2);
        assert_eq!(tick_step(18), 5);
        assert_eq!(tick_step(100), 50);
        assert_eq!(tick_step(1000), 500);
    }

    #[test]
    fn the_heat_map_shades_by_share_of_the_busiest_hour() {
        assert_eq!(heat(0, 10), HEAT[0]);
        assert_eq!(heat(1, 10), HEAT[1]);
        assert_eq!(heat(10, 10), HEAT[5]);
        let rows = vec![("Monday".to_string(), {
            let mut v = vec![0; 24];
            v[9] = 4;
            v
        })];
        let svg = heat_map("Busiest hours", &rows, CALLS);
        assert!(
            svg.contains("<title>Monday 09:00–10:00: 4 calls</title>"),
            "{svg}"
        );
        assert!(
            svg.contains("<title>Monday 10:00–11:00: 0 calls</title>"),
            "{svg}"
        );
    }
}
