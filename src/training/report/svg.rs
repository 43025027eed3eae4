//! Hand-written inline SVG charts for the HTML report: a line chart (axes with ticks and
//! labels, a title, series, reference lines, markers, text labels, a legend) and a horizontal
//! bar chart. Every piece of text goes through [`escape`]. No ids are emitted, so any number
//! of charts can sit in one document.

use std::fmt::Write;

/// Escapes text for HTML and SVG content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

/// Colour-blind-safe palette (Okabe–Ito), cycled by series index.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
];

pub fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 420.0;
const TOP: f64 = 44.0;
const RIGHT: f64 = 24.0;
const BOTTOM: f64 = 56.0;
const LEFT: f64 = 72.0;

/// A numeric axis: its range, tick positions and label.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub min: f64,
    pub max: f64,
    pub ticks: Vec<f64>,
}

impl Axis {
    /// The unit interval with ticks every 0.2.
    pub fn unit(label: &str) -> Axis {
        Axis {
            label: label.to_string(),
            min: 0.0,
            max: 1.0,
            ticks: (0..=5).map(|i| f64::from(i) * 0.2).collect(),
        }
    }

    /// A range widened to round tick values covering `[lo, hi]` (about 5 ticks).
    pub fn nice(label: &str, lo: f64, hi: f64) -> Axis {
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            (lo.min(hi), lo.max(hi))
        } else {
            (0.0, 1.0)
        };
        let (lo, hi) = if hi - lo < 1e-12 {
            (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0))
        } else {
            (lo, hi)
        };
        let step = nice_step((hi - lo) / 5.0);
        let min = (lo / step).floor() * step;
        let max = (hi / step).ceil() * step;
        let count = ((max - min) / step).round() as usize;
        Axis {
            label: label.to_string(),
            min,
            max,
            ticks: (0..=count).map(|i| min + i as f64 * step).collect(),
        }
    }

    fn step(&self) -> f64 {
        match self.ticks.as_slice() {
            [a, b, ..] => (b - a).abs(),
            _ => (self.max - self.min).abs(),
        }
    }
}

/// The smallest of 1, 2, 2.5, 5, 10 × 10^k that is ≥ `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = if raw > 0.0 && raw.is_finite() {
        raw
    } else {
        1.0
    };
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&s| s >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

/// A tick label: compact (`12k`, `1.5M`) for large values, else as many decimals as the step needs.
pub fn tick_label(v: f64, step: f64) -> String {
    let v = if v.abs() < step * 1e-9 { 0.0 } else { v };
    if v.abs() >= 1e6 || step >= 1e6 {
        format!("{}M", trim_float(v / 1e6, 2))
    } else if v.abs() >= 1e4 || step >= 1e4 {
        format!("{}k", trim_float(v / 1e3, 1))
    } else {
        let decimals = (-step.log10().floor()).max(0.0) as usize + usize::from(is_quarter(step));
        format!("{v:.decimals$}")
    }
}

fn is_quarter(step: f64) -> bool {
    let m = step / 10f64.powf(step.log10().floor());
    (m - 2.5).abs() < 1e-9
}

fn trim_float(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    pub width: f64,
    /// Draw a dot at every point (for few points, e.g. reliability bins).
    pub dots: bool,
}

impl Series {
    pub fn line(name: &str, color: &'static str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            color,
            points,
            dashed: false,
            width: 2.0,
            dots: false,
        }
    }

    /// A grey dashed reference line (diagonal, base rate, break-even).
    pub fn reference(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            color: "#888888",
            points,
            dashed: true,
            width: 1.5,
            dots: false,
        }
    }
}

/// A highlighted point with a caption (e.g. the chosen campaign cut-off).
#[derive(Debug, Clone)]
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub color: &'static str,
    pub caption: String,
}

/// Where the legend box sits inside the plot area.
#[derive(Debug, Clone, Copy)]
pub enum LegendAt {
    TopLeft,
    TopRight,
    BottomRight,
}

/// A line chart; [`LineChart::render`] returns one `<svg>` element.
#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    /// Small text labels at data coordinates (e.g. bin counts).
    pub labels: Vec<(f64, f64, String)>,
    pub legend: LegendAt,
}

struct Frame {
    x: (f64, f64),
    y: (f64, f64),
    plot_w: f64,
    plot_h: f64,
}

impl Frame {
    fn new(x: &Axis, y: &Axis) -> Frame {
        Frame {
            x: (x.min, x.max),
            y: (y.min, y.max),
            plot_w: WIDTH - LEFT - RIGHT,
            plot_h: HEIGHT - TOP - BOTTOM,
        }
    }

    fn sx(&self, v: f64) -> f64 {
        let span = (self.x.1 - self.x.0).max(1e-12);
        LEFT + ((v - self.x.0) / span).clamp(0.0, 1.0) * self.plot_w
    }

    fn sy(&self, v: f64) -> f64 {
        let span = (self.y.1 - self.y.0).max(1e-12);
        TOP + self.plot_h - ((v - self.y.0) / span).clamp(0.0, 1.0) * self.plot_h
    }
}

fn open_svg(out: &mut String, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{t}" font-family="sans-serif" font-size="12">"#,
        t = escape(title)
    );
    let _ = write!(
        out,
        r##"<title>{t}</title><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/><text x="{cx}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{t}</text>"##,
        t = escape(title),
        cx = WIDTH / 2.0
    );
}

/// Axes, grid lines, tick labels and axis labels.
fn draw_axes(out: &mut String, f: &Frame, x: &Axis, y: &Axis) {
    let (bottom, right) = (TOP + f.plot_h, LEFT + f.plot_w);
    for &t in &x.ticks {
        let px = f.sx(t);
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{bottom}" stroke="#eeeeee"/><line x1="{px:.1}" y1="{bottom}" x2="{px:.1}" y2="{b2}" stroke="#333333"/><text x="{px:.1}" y="{ty}" text-anchor="middle">{l}</text>"##,
            b2 = bottom + 5.0,
            ty = bottom + 18.0,
            l = escape(&tick_label(t, x.step()))
        );
    }
    for &t in &y.ticks {
        let py = f.sy(t);
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" y1="{py:.1}" x2="{right}" y2="{py:.1}" stroke="#eeeeee"/><line x1="{l2}" y1="{py:.1}" x2="{LEFT}" y2="{py:.1}" stroke="#333333"/><text x="{tx}" y="{ty:.1}" text-anchor="end">{l}</text>"##,
            l2 = LEFT - 5.0,
            tx = LEFT - 8.0,
            ty = py + 4.0,
            l = escape(&tick_label(t, y.step()))
        );
    }
    let _ = write!(
        out,
        r##"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" fill="none" stroke="#333333"/><text x="{cx}" y="{ly}" text-anchor="middle">{xl}</text><text x="16" y="{cy}" text-anchor="middle" transform="rotate(-90 16 {cy})">{yl}</text>"##,
        w = f.plot_w,
        h = f.plot_h,
        cx = LEFT + f.plot_w / 2.0,
        ly = HEIGHT - 14.0,
        cy = TOP + f.plot_h / 2.0,
        xl = escape(&x.label),
        yl = escape(&y.label)
    );
}

fn draw_legend(out: &mut String, f: &Frame, series: &[Series], at: LegendAt) {
    let named: Vec<&Series> = series.iter().filter(|s| !s.name.is_empty()).collect();
    if named.is_empty() {
        return;
    }
    let longest = named
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let w = (longest as f64 * 6.8 + 40.0).min(f.plot_w - 8.0);
    let h = named.len() as f64 * 18.0 + 8.0;
    let x = match at {
        LegendAt::TopLeft => LEFT + 8.0,
        LegendAt::TopRight | LegendAt::BottomRight => LEFT + f.plot_w - w - 8.0,
    };
    let y = match at {
        LegendAt::TopLeft | LegendAt::TopRight => TOP + 8.0,
        LegendAt::BottomRight => TOP + f.plot_h - h - 8.0,
    };
    let _ = write!(
        out,
        r##"<g class="legend"><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#ffffff" fill-opacity="0.9" stroke="#cccccc"/>"##
    );
    for (i, s) in named.iter().enumerate() {
        let ly = y + 16.0 + i as f64 * 18.0;
        let dash = if s.dashed {
            r#" stroke-dasharray="5 4""#
        } else {
            ""
        };
        let _ = write!(
            out,
            r#"<line x1="{x1:.1}" y1="{l:.1}" x2="{x2:.1}" y2="{l:.1}" stroke="{c}" stroke-width="{sw}"{dash}/><text x="{tx:.1}" y="{ty:.1}">{n}</text>"#,
            x1 = x + 6.0,
            x2 = x + 26.0,
            l = ly - 4.0,
            c = s.color,
            sw = s.width,
            tx = x + 32.0,
            ty = ly,
            n = escape(&s.name)
        );
    }
    out.push_str("</g>");
}

/// Marker captions as a stacked list in the top corner the legend does not use.
fn draw_captions(out: &mut String, f: &Frame, markers: &[Marker], legend: LegendAt) {
    if markers.is_empty() {
        return;
    }
    let longest = markers
        .iter()
        .map(|m| m.caption.chars().count())
        .max()
        .unwrap_or(0);
    let w = (longest as f64 * 6.2 + 28.0).min(f.plot_w - 8.0);
    let h = markers.len() as f64 * 16.0 + 8.0;
    let x = match legend {
        LegendAt::TopLeft => LEFT + f.plot_w - w - 8.0,
        LegendAt::TopRight | LegendAt::BottomRight => LEFT + 8.0,
    };
    let y = TOP + 8.0;
    let _ = write!(
        out,
        r##"<g class="captions"><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#ffffff" fill-opacity="0.9" stroke="#cccccc"/>"##
    );
    for (i, m) in markers.iter().enumerate() {
        let ly = y + 15.0 + i as f64 * 16.0;
        let _ = write!(
            out,
            r##"<circle cx="{cx:.1}" cy="{cy:.1}" r="4" fill="#ffffff" stroke="{c}" stroke-width="2"/><text x="{tx:.1}" y="{ly:.1}" font-size="11" fill="{c}">{t}</text>"##,
            cx = x + 10.0,
            cy = ly - 4.0,
            c = m.color,
            tx = x + 20.0,
            t = escape(&m.caption)
        );
    }
    out.push_str("</g>");
}

impl LineChart {
    pub fn render(&self) -> String {
        let f = Frame::new(&self.x, &self.y);
        let mut out = String::new();
        open_svg(&mut out, &self.title);
        draw_axes(&mut out, &f, &self.x, &self.y);
        for s in &self.series {
            let pts: Vec<String> = s
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", f.sx(x), f.sy(y)))
                .collect();
            let dash = if s.dashed {
                r#" stroke-dasharray="5 4""#
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<polyline fill="none" stroke="{c}" stroke-width="{w}"{dash} points="{p}"/>"#,
                c = s.color,
                w = s.width,
                p = pts.join(" ")
            );
            if s.dots {
                for &(x, y) in s
                    .points
                    .iter()
                    .filter(|(x, y)| x.is_finite() && y.is_finite())
                {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{}"/>"#,
                        f.sx(x),
                        f.sy(y),
                        s.color
                    );
                }
            }
        }
        for &(x, y, ref text) in &self.labels {
            let _ = write!(
                out,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#555555">{}</text>"##,
                f.sx(x),
                f.sy(y) - 8.0,
                escape(text)
            );
        }
        for m in &self.markers {
            let (px, py) = (f.sx(m.x), f.sy(m.y));
            let _ = write!(
                out,
                r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{b}" stroke="{c}" stroke-dasharray="2 3"/><circle cx="{px:.1}" cy="{py:.1}" r="5" fill="#ffffff" stroke="{c}" stroke-width="2.5"/>"##,
                b = TOP + f.plot_h,
                c = m.color,
            );
        }
        draw_captions(&mut out, &f, &self.markers, self.legend);
        draw_legend(&mut out, &f, &self.series, self.legend);
        out.push_str("</svg>");
        out
    }
}

/// A horizontal bar chart of labelled values (largest first as given), one `<svg>` element.
pub fn bar_chart(title: &str, x_label: &str, bars: &[(String, f64)], fill: &'static str) -> String {
    const BAR_LEFT: f64 = 230.0;
    const ROW: f64 = 20.0;
    let plot_h = (bars.len().max(1) as f64) * ROW;
    let height = TOP + plot_h + BOTTOM;
    let lo = bars.iter().map(|b| b.1).fold(0.0, f64::min);
    let hi = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    let axis = Axis::nice(x_label, lo, if hi > lo { hi } else { lo + 1.0 });
    let plot_w = WIDTH - BAR_LEFT - RIGHT - 40.0;
    let span = (axis.max - axis.min).max(1e-12);
    let sx = |v: f64| BAR_LEFT + ((v - axis.min) / span).clamp(0.0, 1.0) * plot_w;
    let mut out = String::new();
    let _ = write!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{t}" font-family="sans-serif" font-size="12"><title>{t}</title><rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/><text x="{cx}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{t}</text>"##,
        t = escape(title),
        cx = WIDTH / 2.0
    );
    let bottom = TOP + plot_h;
    for &t in &axis.ticks {
        let px = sx(t);
        let _ = write!(
            out,
            r##"<line x1="{px:.1}" y1="{TOP}" x2="{px:.1}" y2="{bottom}" stroke="#eeeeee"/><text x="{px:.1}" y="{ty}" text-anchor="middle">{l}</text>"##,
            ty = bottom + 18.0,
            l = escape(&tick_label(t, axis.step()))
        );
    }
    let zero = sx(0.0);
    for (i, (name, value)) in bars.iter().enumerate() {
        let y = TOP + i as f64 * ROW;
        let (x0, x1) = if *value >= 0.0 {
            (zero, sx(*value))
        } else {
            (sx(*value), zero)
        };
        let shown: String = if name.chars().count() > 32 {
            name.chars().take(31).chain(['…']).collect()
        } else {
            name.clone()
        };
        let _ = write!(
            out,
            r#"<text x="{lx}" y="{ty:.1}" text-anchor="end">{n}</text><rect x="{x0:.1}" y="{ry:.1}" width="{w:.1}" height="{h}" fill="{fill}"><title>{full}: {v}</title></rect><text x="{vx:.1}" y="{ty:.1}" font-size="10">{v}</text>"#,
            lx = BAR_LEFT - 6.0,
            ty = y + ROW / 2.0 + 4.0,
            n = escape(&shown),
            ry = y + 3.0,
            w = (x1 - x0).max(0.5),
            h = ROW - 6.0,
            full = escape(name),
            vx = x1.max(x0) + 4.0,
            v = escape(&trim_float(*value, 4))
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{zero:.1}" y1="{TOP}" x2="{zero:.1}" y2="{bottom}" stroke="#333333"/><line x1="{BAR_LEFT}" y1="{bottom}" x2="{r}" y2="{bottom}" stroke="#333333"/><text x="{cx}" y="{ly}" text-anchor="middle">{xl}</text></svg>"##,
        r = BAR_LEFT + plot_w,
        cx = BAR_LEFT + plot_w / 2.0,
        ly = height - 14.0,
        xl = escape(x_label)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_specials() {
        assert_eq!(escape(r#"<b>&"x'"#), "&lt;b&gt;&amp;&quot;x&#39;");
    }

    #[test]
    fn nice_axes_use_round_steps() {
        let a = Axis::nice("profit", -1200.0, 48_000.0);
        assert_eq!((a.min, a.max), (-10_000.0, 50_000.0));
        assert_eq!(a.ticks.len(), 7);
        let a = Axis::nice("lift", 0.0, 3.7);
        assert_eq!((a.min, a.max, a.step()), (0.0, 4.0, 1.0));
        let a = Axis::nice("flat", 2.0, 2.0);
        assert!(a.min < 2.0 && a.max > 2.0);
        assert_eq!(tick_label(25_000.0, 10_000.0), "25k");
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(0.75, 0.25), "0.75");
        assert_eq!(tick_label(1_500_000.0, 500_000.0), "1.5M");
    }

    #[test]
    fn charts_are_one_balanced_svg_each() {
        let chart = LineChart {
            title: "A & B".into(),
            x: Axis::unit("x"),
            y: Axis::unit("y"),
            series: vec![Series::line("<m>", color(0), vec![(0.0, 0.0), (1.0, 1.0)])],
            markers: vec![Marker {
                x: 0.5,
                y: 0.5,
                color: color(1),
                caption: "cut".into(),
            }],
            labels: vec![(0.2, 0.2, "n=3".into())],
            legend: LegendAt::TopLeft,
        };
        let svg = chart.render();
        assert_eq!(svg.matches("<svg").count(), 1);
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("A &amp; B") && svg.contains("&lt;m&gt;") && !svg.contains("<m>"));
        // (0,0) maps to the bottom-left corner of the plot area, (1,1) to the top-right.
        assert!(svg.contains(&format!(
            "points=\"{LEFT:.1},{:.1} {:.1},{TOP:.1}\"",
            HEIGHT - BOTTOM,
            WIDTH - RIGHT
        )));
        let bars = bar_chart(
            "imp",
            "gain",
            &[("a<".into(), 2.0), ("b".into(), -1.0)],
            color(0),
        );
        assert_eq!(bars.matches("<svg").count(), 1);
        assert_eq!(bars.matches("<rect").count(), 3); // background + two bars
        assert!(bars.contains("a&lt;"));
    }
}
