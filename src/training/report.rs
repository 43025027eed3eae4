//! The model report: one self-contained `report.html` (inline CSS and hand-written SVG, no
//! scripts, no external assets) comparing every model trained on one test set, and a plain-text
//! comparison table for the CLI.
//!
//! Input is plain data ([`ReportInput`]); rendering is a pure function returning a `String`, so
//! the caller decides where to write it (e.g. with `output::write_atomic`).

mod svg;

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use super::evaluate::{Evaluation, GainsPoint};
pub use svg::escape;
use svg::{bar_chart, color, Axis, LegendAt, LineChart, Marker, Series};

/// The data set the models were evaluated on, described in words for the reader.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatasetDescription {
    /// E.g. `"churn_prediction_features, test split (customers hashed 80/20)"`.
    pub description: String,
    /// E.g. `"12,000 train / 3,000 test"`.
    pub rows: String,
    /// E.g. `"540 churners in test (18.0%)"`.
    pub positives: String,
    /// E.g. `"2024-01-31 … 2024-06-30 (monthly)"`.
    pub as_of_dates: String,
    /// Any further facts, shown as a two-column table.
    pub extra: Vec<(String, String)>,
}

/// One trained model and its evaluation on the test set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReport {
    /// Display name, e.g. `"gbdt-depth6"`.
    pub name: String,
    /// Algorithm family, e.g. `"logistic regression"`.
    pub algorithm: String,
    pub evaluation: Evaluation,
    /// Global feature importance as (feature, value); any order, the report sorts by |value|.
    pub importance: Vec<(String, f64)>,
    /// Wall-clock training time in seconds.
    pub train_seconds: f64,
    /// The calibration applied before evaluation, e.g. `"isotonic"`.
    pub calibration: Option<String>,
}

/// Everything the report shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportInput {
    pub title: String,
    /// When the report was made, already formatted (e.g. RFC 3339).
    pub generated_at: String,
    pub dataset: DatasetDescription,
    pub models: Vec<ModelReport>,
    /// Index into `models` of the model to highlight; `None` (or out of range) = the one chosen
    /// by [`best_model_index`].
    pub best_model: Option<usize>,
    /// Free-text notes shown under the comparison table.
    pub notes: Vec<String>,
}

/// Features shown in each importance chart.
pub const TOP_FEATURES: usize = 20;

/// The model with the highest ROC AUC (a tie goes to the lower log loss, then the earlier one).
pub fn best_model_index(models: &[ModelReport]) -> Option<usize> {
    (0..models.len()).reduce(|best, i| {
        let (b, c) = (&models[best].evaluation, &models[i].evaluation);
        if c.roc_auc > b.roc_auc || (c.roc_auc == b.roc_auc && c.log_loss < b.log_loss) {
            i
        } else {
            best
        }
    })
}

fn chosen_best(input: &ReportInput) -> Option<usize> {
    input
        .best_model
        .filter(|&i| i < input.models.len())
        .or_else(|| best_model_index(&input.models))
}

/// The lift/capture point at 10%: from the requested top shares, else from the gains curve.
fn at_ten_percent(ev: &Evaluation) -> Option<&GainsPoint> {
    ev.top_at(0.10)
        .or_else(|| ev.gains.iter().find(|g| (g.share - 0.10).abs() < 1e-9))
}

/// `12345.6` → `"12,346"`, `-50` → `"−50"` (whole currency units, thousands separated).
pub fn money(v: f64) -> String {
    let rounded = v.round();
    let digits = format!("{:.0}", rounded.abs());
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if rounded < 0.0 {
        format!("−{grouped}")
    } else {
        grouped
    }
}

/// The cells of one comparison row, as text (unescaped).
struct Row {
    cells: Vec<String>,
}

const HEADERS: [&str; 13] = [
    "Model",
    "Algorithm",
    "ROC AUC (95% CI)",
    "PR-AUC",
    "Log loss",
    "Brier",
    "ECE",
    "Lift@10%",
    "Capture@10%",
    "Train s",
    "Cut-off",
    "Targeted",
    "Exp. profit",
];

fn row(m: &ModelReport) -> Row {
    let ev = &m.evaluation;
    let ten = at_ten_percent(ev);
    let best = &ev.profit.best;
    Row {
        cells: vec![
            m.name.clone(),
            m.algorithm.clone(),
            format!(
                "{:.3} [{:.3}, {:.3}]",
                ev.roc_auc, ev.roc_auc_ci.lower, ev.roc_auc_ci.upper
            ),
            format!("{:.3}", ev.pr_auc),
            format!("{:.4}", ev.log_loss),
            format!("{:.4}", ev.brier),
            format!("{:.4}", ev.calibration.ece),
            ten.map_or("–".into(), |g| format!("{:.2}", g.lift)),
            ten.map_or("–".into(), |g| format!("{:.1}%", 100.0 * g.capture_rate)),
            format!("{:.1}", m.train_seconds),
            format!("{:.4}", best.threshold),
            format!("{:.0}%", 100.0 * best.share),
            money(best.profit),
        ],
    }
}

/// The model comparison as an aligned plain-text table for a terminal; the best model (see
/// [`best_model_index`]) is marked with `*`.
pub fn comparison_table_text(models: &[ModelReport]) -> String {
    let best = best_model_index(models);
    let mut rows: Vec<Vec<String>> = vec![std::iter::once(" ".to_string())
        .chain(HEADERS.iter().map(|h| h.to_string()))
        .collect()];
    for (i, m) in models.iter().enumerate() {
        let mark = if Some(i) == best { "*" } else { " " };
        rows.push(
            std::iter::once(mark.to_string())
                .chain(row(m).cells)
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            // Mark, name and algorithm read left to right; numbers line up on the right.
            if c <= 2 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
            line.push_str(if c == 0 { " " } else { "  " });
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:1340px;padding:0 1rem;color:#222}\
h1{margin-bottom:.2rem}h2{margin-top:2.2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}\
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}th,td{border:1px solid #ddd;padding:.3rem .55rem;text-align:right}\
th{background:#f4f4f4}td.l,th.l{text-align:left}tr.best td{background:#fff6d6;font-weight:600}\
.muted{color:#666}.plots{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0;border:1px solid #eee;padding:.4rem}\
figcaption{font-size:.85rem;color:#555;max-width:640px}svg{max-width:100%;height:auto}";

/// Renders the whole report as one HTML document.
pub fn render_report(input: &ReportInput) -> String {
    let best = chosen_best(input);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p class=\"muted\">Generated {g}</p>\n",
        t = escape(&input.title),
        g = escape(&input.generated_at)
    );
    dataset_section(&mut html, &input.dataset);
    comparison_section(&mut html, input, best);
    if !input.models.is_empty() {
        plots_section(&mut html, &input.models, best);
        for (i, m) in input.models.iter().enumerate() {
            model_section(&mut html, m, Some(i) == best);
        }
    }
    html.push_str(GLOSSARY);
    html.push_str("</body>\n</html>\n");
    html
}

fn dataset_section(html: &mut String, d: &DatasetDescription) {
    html.push_str("<h2>Data</h2>\n<table>\n");
    let facts = [
        ("Data set", &d.description),
        ("Rows", &d.rows),
        ("Churners", &d.positives),
        ("As-of dates", &d.as_of_dates),
    ];
    for (k, v) in facts
        .iter()
        .map(|(k, v)| (k.to_string(), (*v).clone()))
        .chain(d.extra.iter().cloned())
        .filter(|(_, v)| !v.is_empty())
    {
        let _ = writeln!(
            html,
            "<tr><th class=\"l\">{}</th><td class=\"l\">{}</td></tr>",
            escape(&k),
            escape(&v)
        );
    }
    html.push_str("</table>\n");
}

fn comparison_section(html: &mut String, input: &ReportInput, best: Option<usize>) {
    html.push_str("<h2>Model comparison</h2>\n");
    if input.models.is_empty() {
        html.push_str("<p>No models were trained.</p>\n");
        return;
    }
    html.push_str("<table>\n<tr>");
    for (c, h) in HEADERS.iter().enumerate() {
        let class = if c < 2 { " class=\"l\"" } else { "" };
        let _ = write!(html, "<th{class}>{}</th>", escape(h));
    }
    html.push_str("</tr>\n");
    for (i, m) in input.models.iter().enumerate() {
        let class = if Some(i) == best {
            " class=\"best\""
        } else {
            ""
        };
        let _ = write!(html, "<tr{class}>");
        for (c, cell) in row(m).cells.iter().enumerate() {
            let cls = if c < 2 { " class=\"l\"" } else { "" };
            let _ = write!(html, "<td{cls}>{}</td>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    if let Some(b) = best.map(|b| &input.models[b]) {
        let econ = &b.evaluation.profit.economics;
        let _ = writeln!(
            html,
            "<p>Highlighted: <strong>{}</strong>. Cut-off = the score at or above which customers are \
             targeted for the highest expected campaign profit (value saved per churner {}, incentive {}, \
             contact cost {}, save rate {:.0}%, non-churner acceptance {:.0}%).</p>",
            escape(&b.name),
            money(econ.value_saved_churner),
            money(econ.incentive_cost),
            money(econ.contact_cost),
            100.0 * econ.save_rate,
            100.0 * econ.non_churner_acceptance_rate
        );
    }
    for note in &input.notes {
        let _ = writeln!(html, "<p class=\"muted\">{}</p>", escape(note));
    }
}

/// Models in drawing order (best last, so it is drawn on top) with their colour and width.
fn styled(models: &[ModelReport], best: Option<usize>) -> Vec<(&ModelReport, &'static str, f64)> {
    let mut out: Vec<_> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m, color(i), if Some(i) == best { 3.0 } else { 1.8 }))
        .collect();
    if let Some(b) = best {
        let item = out.remove(b);
        out.push(item);
    }
    out
}

fn series(name: String, color: &'static str, width: f64, points: Vec<(f64, f64)>) -> Series {
    Series {
        width,
        ..Series::line(&name, color, points)
    }
}

fn figure(html: &mut String, svg: String, caption: &str) {
    let _ = writeln!(
        html,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        escape(caption)
    );
}

fn plots_section(html: &mut String, models: &[ModelReport], best: Option<usize>) {
    let drawn = styled(models, best);
    let best_model = best.map(|b| &models[b]);
    html.push_str("<h2>Plots</h2>\n<div class=\"plots\">\n");
    figure(
        html,
        roc_chart(&drawn),
        "ROC curves of every model on the test set; the dashed diagonal is a random ranking.",
    );
    figure(html, pr_chart(&drawn, best_model), "Precision against recall when flagging customers at or above each score; the dashed line is the churn base rate (a random ranking).");
    figure(html, reliability_chart(&drawn, best_model), "Reliability: observed churn rate against mean predicted probability in 10 equal-width bins (only non-empty bins are drawn; n = rows in each bin of the highlighted model). On the diagonal = calibrated.");
    figure(html, gains_chart(&drawn, best_model), "Cumulative gains: share of all churners reached when targeting the top share of customers by score.");
    figure(
        html,
        lift_chart(&drawn),
        "Lift: churn rate among the targeted top share divided by the overall churn rate.",
    );
    figure(html, profit_chart(&drawn), "Expected campaign profit against the share of customers targeted (top k% by score); circles mark each model's best cut-off.");
    html.push_str("</div>\n");
    for (i, m) in models.iter().enumerate() {
        if m.importance.is_empty() {
            continue;
        }
        let mut items = m.importance.clone();
        items.retain(|(_, v)| v.is_finite());
        items.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        items.truncate(TOP_FEATURES);
        let svg = bar_chart(
            &format!("Feature importance — {}", m.name),
            "importance",
            &items,
            color(i),
        );
        figure(
            html,
            svg,
            &format!(
                "Global feature importance of {} (top {} of {} by absolute value).",
                m.name,
                items.len(),
                m.importance.len()
            ),
        );
    }
}

fn roc_chart(drawn: &[(&ModelReport, &'static str, f64)]) -> String {
    let mut s: Vec<Series> = drawn
        .iter()
        .map(|(m, c, w)| {
            let pts = m.evaluation.roc.iter().map(|p| (p.fpr, p.tpr)).collect();
            series(
                format!("{} (AUC {:.3})", m.name, m.evaluation.roc_auc),
                c,
                *w,
                pts,
            )
        })
        .collect();
    s.push(Series::reference("random", vec![(0.0, 0.0), (1.0, 1.0)]));
    LineChart {
        title: "ROC curve".into(),
        x: Axis::unit("False positive rate"),
        y: Axis::unit("True positive rate (recall)"),
        series: s,
        markers: vec![],
        labels: vec![],
        legend: LegendAt::BottomRight,
    }
    .render()
}

fn pr_chart(drawn: &[(&ModelReport, &'static str, f64)], best: Option<&ModelReport>) -> String {
    let mut s: Vec<Series> = drawn
        .iter()
        .map(|(m, c, w)| {
            let pts = m
                .evaluation
                .pr
                .iter()
                .map(|p| (p.recall, p.precision))
                .collect();
            series(
                format!("{} (AP {:.3})", m.name, m.evaluation.pr_auc),
                c,
                *w,
                pts,
            )
        })
        .collect();
    if let Some(b) = best {
        let r = b.evaluation.base_rate;
        s.push(Series::reference(
            &format!("base rate {r:.3}"),
            vec![(0.0, r), (1.0, r)],
        ));
    }
    LineChart {
        title: "Precision–recall curve".into(),
        x: Axis::unit("Recall"),
        y: Axis::unit("Precision"),
        series: s,
        markers: vec![],
        labels: vec![],
        legend: LegendAt::TopRight,
    }
    .render()
}

fn reliability_chart(
    drawn: &[(&ModelReport, &'static str, f64)],
    best: Option<&ModelReport>,
) -> String {
    let mut s: Vec<Series> = drawn
        .iter()
        .map(|(m, c, w)| {
            let pts = m
                .evaluation
                .calibration
                .bins
                .iter()
                .map(|b| (b.mean_predicted, b.observed_rate))
                .collect();
            Series {
                dots: true,
                ..series(
                    format!("{} (ECE {:.3})", m.name, m.evaluation.calibration.ece),
                    c,
                    *w,
                    pts,
                )
            }
        })
        .collect();
    s.push(Series::reference(
        "perfectly calibrated",
        vec![(0.0, 0.0), (1.0, 1.0)],
    ));
    let labels = best.map_or_else(Vec::new, |b| {
        b.evaluation
            .calibration
            .bins
            .iter()
            .map(|bin| {
                (
                    bin.mean_predicted,
                    bin.observed_rate,
                    format!("n={}", bin.count),
                )
            })
            .collect()
    });
    LineChart {
        title: "Calibration (reliability diagram)".into(),
        x: Axis::unit("Mean predicted probability"),
        y: Axis::unit("Observed churn rate"),
        series: s,
        markers: vec![],
        labels,
        legend: LegendAt::TopLeft,
    }
    .render()
}

fn gains_chart(drawn: &[(&ModelReport, &'static str, f64)], best: Option<&ModelReport>) -> String {
    let mut s: Vec<Series> = drawn
        .iter()
        .map(|(m, c, w)| {
            let pts = std::iter::once((0.0, 0.0))
                .chain(m.evaluation.gains.iter().map(|g| (g.share, g.capture_rate)))
                .collect();
            series(m.name.clone(), c, *w, pts)
        })
        .collect();
    if let Some(b) = best {
        s.push(Series::reference(
            "perfect ranking",
            vec![(0.0, 0.0), (b.evaluation.base_rate, 1.0), (1.0, 1.0)],
        ));
    }
    s.push(Series {
        color: "#bbbbbb",
        ..Series::reference("random", vec![(0.0, 0.0), (1.0, 1.0)])
    });
    LineChart {
        title: "Cumulative gains".into(),
        x: Axis::unit("Share of customers targeted (top by score)"),
        y: Axis::unit("Share of churners captured"),
        series: s,
        markers: vec![],
        labels: vec![],
        legend: LegendAt::BottomRight,
    }
    .render()
}

fn lift_chart(drawn: &[(&ModelReport, &'static str, f64)]) -> String {
    let max_lift = drawn
        .iter()
        .flat_map(|(m, _, _)| m.evaluation.gains.iter().map(|g| g.lift))
        .fold(1.0, f64::max);
    let mut s: Vec<Series> = drawn
        .iter()
        .map(|(m, c, w)| {
            let pts = m
                .evaluation
                .gains
                .iter()
                .map(|g| (g.share, g.lift))
                .collect();
            series(m.name.clone(), c, *w, pts)
        })
        .collect();
    s.push(Series::reference(
        "random (lift 1)",
        vec![(0.0, 1.0), (1.0, 1.0)],
    ));
    LineChart {
        title: "Lift chart".into(),
        x: Axis::unit("Share of customers targeted (top by score)"),
        y: Axis::nice("Lift", 0.0, max_lift),
        series: s,
        markers: vec![],
        labels: vec![],
        legend: LegendAt::TopRight,
    }
    .render()
}

fn profit_chart(drawn: &[(&ModelReport, &'static str, f64)]) -> String {
    let profits = drawn
        .iter()
        .flat_map(|(m, _, _)| m.evaluation.profit.points.iter().map(|p| p.profit));
    let (lo, hi) = profits.fold((0.0f64, 0.0f64), |(lo, hi), p| (lo.min(p), hi.max(p)));
    let mut s: Vec<Series> = drawn
        .iter()
        .map(|(m, c, w)| {
            let pts = std::iter::once((0.0, 0.0))
                .chain(
                    m.evaluation
                        .profit
                        .points
                        .iter()
                        .map(|p| (p.share, p.profit)),
                )
                .collect();
            series(m.name.clone(), c, *w, pts)
        })
        .collect();
    s.push(Series::reference(
        "break-even",
        vec![(0.0, 0.0), (1.0, 0.0)],
    ));
    let markers = drawn
        .iter()
        .map(|(m, c, _)| {
            let b = &m.evaluation.profit.best;
            Marker {
                x: b.share,
                y: b.profit,
                color: c,
                caption: format!(
                    "{}: best at top {:.0}%, profit {}",
                    m.name,
                    100.0 * b.share,
                    money(b.profit)
                ),
            }
        })
        .collect();
    LineChart {
        title: "Expected campaign profit".into(),
        x: Axis::unit("Share of customers targeted (top by score)"),
        y: Axis::nice("Expected profit", lo, hi),
        series: s,
        markers,
        labels: vec![],
        legend: LegendAt::BottomRight,
    }
    .render()
}

fn model_section(html: &mut String, m: &ModelReport, is_best: bool) {
    let ev = &m.evaluation;
    let _ = writeln!(
        html,
        "<h2>{}{}</h2>\n<p>{} · trained in {:.1} s{} · {} test rows, {} churners (base rate {:.1}%)</p>",
        escape(&m.name),
        if is_best { " (highlighted)" } else { "" },
        escape(&m.algorithm),
        m.train_seconds,
        m.calibration
            .as_ref()
            .map_or(String::new(), |c| format!(" · calibration: {}", escape(c))),
        ev.n,
        ev.positives,
        100.0 * ev.base_rate
    );
    html.push_str("<table>\n<tr><th class=\"l\">Threshold</th><th>Flagged</th><th>TP</th><th>FP</th><th>TN</th><th>FN</th><th>Precision</th><th>Recall</th><th>F1</th><th>Accuracy</th></tr>\n");
    for (label, t) in [
        ("campaign cut-off", &ev.at_campaign_threshold),
        ("fixed", &ev.at_classification_threshold),
    ] {
        let _ = writeln!(
            html,
            "<tr><td class=\"l\">{} {:.4}</td><td>{:.1}%</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td><td>{:.3}</td></tr>",
            label,
            t.threshold,
            100.0 * t.flagged_share,
            t.confusion.tp,
            t.confusion.fp,
            t.confusion.tn,
            t.confusion.fn_,
            t.precision,
            t.recall,
            t.f1,
            t.accuracy
        );
    }
    html.push_str("</table>\n<table>\n<tr><th>Top share</th><th>Customers</th><th>Score ≥</th><th>Churners</th><th>Precision</th><th>Lift</th><th>Capture</th></tr>\n");
    for g in &ev.top {
        let _ = writeln!(
            html,
            "<tr><td>{:.0}%</td><td>{}</td><td>{:.4}</td><td>{:.1}</td><td>{:.3}</td><td>{:.2}</td><td>{:.1}%</td></tr>",
            100.0 * g.share,
            g.rows,
            g.threshold,
            g.positives,
            g.precision,
            g.lift,
            100.0 * g.capture_rate
        );
    }
    let b = &ev.profit.best;
    let _ = writeln!(
        html,
        "</table>\n<p>Best campaign: target the top {:.0}% ({} customers, score ≥ {:.4}), reaching {:.1} churners, saving {:.1} in expectation, expected profit {}. ECE {:.4}, MCE {:.4} over {} bins.</p>",
        100.0 * b.share,
        b.rows,
        b.threshold,
        b.churners,
        b.saved,
        money(b.profit),
        ev.calibration.ece,
        ev.calibration.mce,
        ev.calibration.n_bins
    );
}

const GLOSSARY: &str = "<h2>How to read this</h2>\n<ul class=\"muted\">\
<li>ROC AUC: probability that a random churner scores above a random non-churner (ties ½); 95% CI from a stratified percentile bootstrap.</li>\
<li>PR-AUC: average precision, Σ (R<sub>k</sub> − R<sub>k−1</sub>) P<sub>k</sub> over score thresholds.</li>\
<li>Log loss and Brier: mean negative log-likelihood (probabilities clipped at 1e−15) and mean squared error of the probability; lower is better.</li>\
<li>ECE: Σ over 10 equal-width probability bins of (bin rows / all rows) × |mean predicted − observed rate|.</li>\
<li>Lift@10% / Capture@10%: churn rate in the top 10% by score over the base rate / share of all churners found there.</li>\
<li>Expected profit of targeting a set: churners × save rate × (value − incentive) − non-churners × non-churner acceptance × incentive − contacts × contact cost.</li>\
</ul>\n<p class=\"muted\">Definitions in full: docs/evaluation.md.</p>\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::evaluate::{evaluate, EvalOptions};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// A model whose scores are the truth blurred by `noise`, evaluated on 1000 rows.
    fn model(name: &str, noise: f64, seed: u64) -> ModelReport {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..1000 {
            let p: f64 = rng.random();
            labels.push(f64::from(u8::from(rng.random::<f64>() < p)));
            let blurred = p + noise * (rng.random::<f64>() - 0.5);
            scores.push(blurred.clamp(0.0, 1.0));
        }
        let options = EvalOptions {
            bootstrap_resamples: 100,
            ..EvalOptions::default()
        };
        ModelReport {
            name: name.to_string(),
            algorithm: "test".into(),
            evaluation: evaluate(&scores, &labels, &options).expect("evaluates"),
            importance: vec![("tenure_days".into(), 0.4), ("tickets_90d".into(), 0.25)],
            train_seconds: 1.25,
            calibration: Some("isotonic".into()),
        }
    }

    fn input(models: Vec<ModelReport>) -> ReportInput {
        ReportInput {
            title: "Churn models".into(),
            generated_at: "2024-07-01T00:00:00Z".into(),
            dataset: DatasetDescription {
                description: "synthetic".into(),
                rows: "1,000 test".into(),
                positives: "about half".into(),
                as_of_dates: "2024-06-30".into(),
                extra: vec![("seed".into(), "7".into())],
            },
            models,
            best_model: None,
            notes: vec!["a note with <angle> brackets".into()],
        }
    }

    #[test]
    fn report_has_one_svg_per_plot_and_escapes_names() {
        let report = input(vec![model("<b>&", 0.2, 1), model("blurry", 1.2, 2)]);
        let html = render_report(&report);
        // Six overlay plots + one importance chart per model.
        assert_eq!(html.matches("<svg").count(), 8);
        assert_eq!(html.matches("</svg>").count(), 8);
        assert_eq!(
            html.matches("<figure>").count(),
            html.matches("</figure>").count()
        );
        assert!(!html.contains("<b>&"));
        assert!(html.contains("&lt;b&gt;&amp;"));
        assert!(html.contains("a note with &lt;angle&gt; brackets"));
        for title in [
            "ROC curve",
            "Precision–recall curve",
            "Calibration (reliability diagram)",
            "Cumulative gains",
            "Lift chart",
            "Expected campaign profit",
            "Feature importance — blurry",
        ] {
            assert!(html.contains(&format!("<title>{title}</title>")), "{title}");
        }
        // No scripts, no external references.
        assert!(!html.contains("<script"));
        assert_eq!(
            html.matches("http").count(),
            html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    }

    #[test]
    fn svg_tags_are_balanced_and_not_nested() {
        let html = render_report(&input(vec![model("a", 0.2, 1), model("b", 0.6, 3)]));
        let mut depth = 0i32;
        let mut rest = html.as_str();
        while let Some(pos) = rest
            .find("<svg")
            .into_iter()
            .chain(rest.find("</svg>"))
            .min()
        {
            if rest[pos..].starts_with("</svg>") {
                depth -= 1;
            } else {
                depth += 1;
            }
            assert!(
                (0..=1).contains(&depth),
                "svg nesting broke at depth {depth}"
            );
            rest = &rest[pos + 4..];
        }
        assert_eq!(depth, 0);
    }

    #[test]
    fn best_model_is_highlighted() {
        let sharp = model("sharp", 0.1, 1);
        let blurry = model("blurry", 1.5, 2);
        assert!(sharp.evaluation.roc_auc > blurry.evaluation.roc_auc);
        let models = vec![blurry, sharp];
        assert_eq!(best_model_index(&models), Some(1));
        let html = render_report(&input(models.clone()));
        let best_row = html
            .lines()
            .find(|l| l.starts_with("<tr class=\"best\">"))
            .expect("a highlighted row");
        assert!(
            best_row.contains("<td class=\"l\">sharp</td>"),
            "{best_row}"
        );
        // An explicit choice wins over AUC.
        let mut chosen = input(models);
        chosen.best_model = Some(0);
        let html = render_report(&chosen);
        let best_row = html
            .lines()
            .find(|l| l.starts_with("<tr class=\"best\">"))
            .expect("a highlighted row");
        assert!(best_row.contains("blurry"));
    }

    #[test]
    fn importance_chart_keeps_the_top_twenty_by_magnitude() {
        let mut m = model("many", 0.2, 1);
        m.importance = (0..30)
            .map(|i| {
                (
                    format!("feature_{i:02}"),
                    if i == 29 { -100.0 } else { f64::from(i) },
                )
            })
            .collect();
        let html = render_report(&input(vec![m]));
        // −100 is the largest magnitude; 0..=9 fall outside the top 20.
        assert!(html.contains(">feature_29<"));
        assert!(html.contains(">feature_28<") && html.contains(">feature_10<"));
        assert!(!html.contains(">feature_09<"));
        assert!(html.contains("top 20 of 30"));
    }

    #[test]
    fn empty_report_still_renders() {
        let html = render_report(&input(vec![]));
        assert!(html.contains("No models were trained."));
        assert_eq!(html.matches("<svg").count(), 0);
        assert_eq!(comparison_table_text(&[]).lines().count(), 1);
    }

    #[test]
    fn text_table_is_aligned_and_marks_the_best() {
        let models = vec![
            model("logistic", 0.8, 1),
            model("gbdt-with-long-name", 0.1, 2),
        ];
        let table = comparison_table_text(&models);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].contains("ROC AUC (95% CI)") && lines[0].contains("Exp. profit"));
        assert!(lines[2].starts_with("* gbdt-with-long-name"));
        assert!(lines[1].starts_with("  logistic "));
        // Right-aligned numeric columns end at the same character position.
        let end_of = |l: &str, needle: &str| l.find(needle).map(|p| p + needle.len());
        let auc1 = format!("{:.3}]", models[0].evaluation.roc_auc_ci.upper);
        let auc2 = format!("{:.3}]", models[1].evaluation.roc_auc_ci.upper);
        assert_eq!(end_of(lines[1], &auc1), end_of(lines[2], &auc2));
        assert_eq!(
            lines[1].chars().count(),
            lines[2].chars().count(),
            "{table}"
        );
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1_234_567.4), "1,234,567");
        assert_eq!(money(-50.0), "−50");
        assert_eq!(money(999.5), "1,000");
        assert_eq!(money(0.0), "0");
    }
}
