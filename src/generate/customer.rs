//! A customer's fixed traits and latent state, drawn once from the customer's own RNG: segment,
//! tier, region, contract, seats, latent price sensitivity / frailty / financial stress /
//! satisfaction, usage needs and trend, product tastes, campaign responsiveness, and the
//! products held on the first simulated day.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};

use super::calendar::{add_months, date_of, epoch_day, Calendar};
use super::catalog::{
    ladder_step, plan_for_need, Category, Contract, Segment, ADD_DATA, ADD_INS, ADD_INTL, ADD_ROAM,
    BB_100, BB_BIZ, BIZ_MDM, BIZ_VOICE, CLD_BACKUP, CLD_DRIVE, CLD_OFFICE, CLD_PHOTO, CLD_WORK,
    FIRST_ADDON, HOME_5G, HOME_BOOST, HOME_MESH, IOT_FLEET, IOT_HOME, IOT_TRACK, MOBILE_LADDER,
    NET_FAILOVER, NET_IP, NET_SDWAN, N_PRODUCTS, PRODUCTS, REGIONS, SEC_DDOS, SEC_END, SEC_FW,
    SEC_HOME, SEC_ID, SEC_KIDS, SEC_VPN, STR_GAME, STR_MUSIC, STR_VIDEO, TIER_MIX, TV_BASIC,
};
use super::hazard::{
    sigmoid, ContractClock, Latent, FRAILTY_SD, NEAR_END_DAYS, SATISFACTION_LEVEL_SD,
    SATISFACTION_START_SD,
};

/// Share of the base that already existed before the window: tenure is uniform on 0–6 years for
/// half of them, exponential with mean 500 days (capped at 6 years) for the other half.
const MAX_TENURE_DAYS: i32 = 6 * 365;
/// Spread (sd of the log) of a customer's hidden taste for each category of the wider
/// catalogue: what of an add-on purchase no table shows (the first catalogue's tastes: 0.5).
const ADDON_TASTE_SD: f64 = 0.3;
/// Promotional discounts on a new product's list price, and their probabilities.
const PROMOS: [f64; 4] = [0.0, 0.1, 0.2, 0.3];
const PROMO_MIX: [f64; 4] = [0.55, 0.20, 0.15, 0.10];

/// The customer's RNG with the draws the simulation needs.
pub struct Dice(pub ChaCha8Rng);

impl Dice {
    /// Uniform on [0, 1).
    pub fn u(&mut self) -> f64 {
        self.0.random::<f64>()
    }

    /// Standard normal.
    pub fn z(&mut self) -> f64 {
        self.0.sample(StandardNormal)
    }

    /// Exponential with mean 1.
    pub fn exp1(&mut self) -> f64 {
        self.0.sample(Exp1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.u() < p
    }

    /// Uniform integer in `0..n` (0 when `n ≤ 1`).
    pub fn below(&mut self, n: i32) -> i32 {
        if n <= 1 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }

    /// `median · exp(sigma · z)`.
    pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.z()).exp()
    }

    /// An index drawn with probability proportional to `weights` (`None` if all are zero).
    pub fn pick(&mut self, weights: &[f64]) -> Option<usize> {
        let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
        if total <= 0.0 {
            return None;
        }
        let mut x = self.u() * total;
        let mut last = None;
        for (i, &w) in weights.iter().enumerate() {
            if w <= 0.0 {
                continue;
            }
            if x < w {
                return Some(i);
            }
            x -= w;
            last = Some(i);
        }
        last
    }

    /// Like [`Dice::pick`] for weights known to be positive somewhere; falls back to 0.
    pub fn pick0(&mut self, weights: &[f64]) -> usize {
        self.pick(weights).unwrap_or(0)
    }

    /// Poisson (Knuth below 12, normal approximation above).
    pub fn poisson(&mut self, lambda: f64) -> u32 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        if lambda < 12.0 {
            let limit = (-lambda).exp();
            let mut k = 0;
            let mut p = self.u();
            while p > limit {
                k += 1;
                p *= self.u();
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.z()).round().max(0.0) as u32
        }
    }
}

/// Rounds to cents.
pub fn cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// One product held.
#[derive(Debug, Clone, Copy)]
pub struct Holding {
    pub product: u8,
    pub fee: f64,
    pub start: i32,
    pub seq: u32,
}

/// An invoice as the customer's history remembers it.
#[derive(Debug, Clone, Copy)]
pub struct Bill {
    pub date: i32,
    pub due: i32,
    pub paid: Option<i32>,
    /// Fees + overage, before discounts.
    pub gross: f64,
    pub overage: f64,
}

/// A ticket as the customer's history remembers it (true resolution, before the export cut).
#[derive(Debug, Clone, Copy)]
pub struct TicketMemo {
    pub opened_day: i32,
    pub category: u8,
    pub severe: bool,
    pub resolved_day: Option<i32>,
    pub score: Option<u8>,
}

/// A month of usage as the history remembers it.
#[derive(Debug, Clone, Copy)]
pub struct UsageMemo {
    pub month: i32,
    /// data GB + voice minutes / 20.
    pub volume: f64,
    pub dropped_per_seat: f64,
    pub outage_minutes: f64,
    pub data_per_seat: f64,
}

/// What a customer needs on a day, from what the warehouse shows: usage, network quality,
/// recent tickets and tenure (drives the add-ons of the wider catalogue).
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// Voice need against the segment's median, in standard deviations of its log.
    pub voice_z: f64,
    /// Last month's data use per seat against 8 GB, in standard deviations of its log.
    pub data_z: f64,
    /// Last month's data use per seat / the held plan's allowance (`None`: no capped plan).
    pub allowance_used: Option<f64>,
    /// Dropped calls per 100 minutes where the customer lives (region × location).
    pub network: f64,
    pub technical_ticket: bool,
    pub billing_ticket: bool,
    pub network_ticket: bool,
    pub tenure_days: i32,
}

/// A customer: traits, latent state, holdings and the history the hazard reads.
#[derive(Debug, Clone)]
pub struct Customer {
    pub idx: u32,
    pub segment: Segment,
    pub tier: u8,
    pub region: u8,
    pub manager: Option<u32>,
    pub name: Option<String>,
    pub signup: i32,
    pub signup_month: i32,
    pub is_new: bool,
    pub contract: Contract,
    /// Term end dates (signup + k·term), ascending; empty for month-to-month.
    pub term_ends: Vec<i32>,
    pub seats: u32,
    pub latent: Latent,
    /// Satisfaction's long-run level.
    pub sat_base: f64,
    /// Latent financial stress in (0, 1): drives late and missed payments.
    pub stress: f64,
    /// Local network factor (multiplies dropped calls and background outages).
    pub location: f64,
    /// Mobile data need per seat (GB/month) at the window start.
    pub data_need: f64,
    pub voice_need: f64,
    pub sms_need: f64,
    /// Monthly log-growth of data use.
    pub growth: f64,
    /// Slow disengagement: (first month of decline, monthly rate).
    pub disengage: Option<(i32, f64)>,
    /// Taste per product category (multiplies adoption weights).
    pub taste: [f64; Category::COUNT],
    /// Base retention responsiveness (log-odds reduction of the hazard).
    pub tau_base: f64,
    /// A "sleeping dog": contact raises the hazard by this much.
    pub dog_harm: Option<f64>,
    /// Products of the first catalogue held (what the churn hazard, bills' shock, repricing,
    /// drops and upsell campaigns see).
    pub holdings: Vec<Holding>,
    /// Add-ons of the wider catalogue held: billed, exported, bought and cancelled on the
    /// side stream, and invisible to the churn process (so that the wider catalogue left the
    /// churn process as it was).
    pub addons: Vec<Holding>,
    pub next_assignment: u32,
    pub next_ticket: u32,
    pub bills: Vec<Bill>,
    pub tickets: Vec<TicketMemo>,
    pub usage: Vec<UsageMemo>,
    pub last_retention: Option<i32>,
    pub last_upsell: Option<i32>,
    /// Active retention treatment: (last month it acts, log-odds reduction).
    pub treatment: Option<(i32, f64)>,
    /// Retention discount (15% of fees) on invoices up to and including this service month.
    pub discount_until: Option<i32>,
}

/// `yes` when `cond` holds, else `no`.
fn either(cond: bool, yes: f64, no: f64) -> f64 {
    if cond {
        yes
    } else {
        no
    }
}

/// Share of `customers` that sign up during the window (≈1.5% of the base a month).
pub fn new_customer_share(months: u32) -> f64 {
    let added = 0.015 * f64::from(months);
    added / (1.0 + added)
}

const FIRST_NAMES: [&str; 24] = [
    "Anna", "Ben", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Klara",
    "Leon", "Maria", "Noah", "Olivia", "Paul", "Rosa", "Samuel", "Tara", "Uwe", "Vera", "Wim",
    "Yara", "Zoe",
];
const LAST_NAMES: [&str; 24] = [
    "Adams", "Berg", "Costa", "Dumont", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jansen", "Keller", "Larsen", "Moreau", "Novak", "Olsen", "Petrov", "Quinn", "Rossi",
    "Schmidt", "Torres", "Ulrich", "Vidal", "Weber", "Young",
];
const COMPANY_A: [&str; 16] = [
    "Acme", "Blue", "Nova", "Summit", "Pioneer", "Vertex", "Harbor", "Granite", "Silver", "Maple",
    "Orion", "Atlas", "Cedar", "Falcon", "Delta", "Aurora",
];
const COMPANY_B: [&str; 12] = [
    "Logistics",
    "Consulting",
    "Foods",
    "Builders",
    "Dental",
    "Media",
    "Motors",
    "Analytics",
    "Retail",
    "Energy",
    "Travel",
    "Labs",
];
const COMPANY_C: [&str; 6] = ["Ltd", "LLC", "Group", "& Co", "Inc", "Partners"];

fn any<'a>(d: &mut Dice, list: &[&'a str]) -> &'a str {
    list[d.below(list.len() as i32) as usize]
}

fn make_name(segment: Segment, d: &mut Dice) -> Option<String> {
    if d.chance(0.05) {
        return None;
    }
    Some(if segment.is_business() {
        format!(
            "{} {} {}",
            any(d, &COMPANY_A),
            any(d, &COMPANY_B),
            any(d, &COMPANY_C)
        )
    } else {
        format!("{} {}", any(d, &FIRST_NAMES), any(d, &LAST_NAMES))
    })
}

impl Customer {
    /// Draws a customer. `n_managers` account managers serve the business segments.
    /// `side` is the customer's side stream: tastes and first holdings of the categories added
    /// after the first catalogue.
    pub fn draw(
        cal: &Calendar,
        idx: u32,
        p_new: f64,
        n_managers: u32,
        d: &mut Dice,
        side: &mut Dice,
    ) -> Self {
        let segment = Segment::ALL[d.pick0(&Segment::SHARE)];
        let s = segment.index();
        let tier = d.pick0(&TIER_MIX[s]) as u8;
        let region_shares: Vec<f64> = REGIONS.iter().map(|r| r.share).collect();
        let region = d.pick0(&region_shares) as u8;
        let manager = segment
            .is_business()
            .then(|| d.below(n_managers.max(1) as i32) as u32);
        let name = make_name(segment, d);
        let is_new = d.chance(p_new);
        let start = cal.first_day(0);
        let (signup, signup_month) = if is_new {
            let m = d.below(cal.months());
            (cal.first_day(m) + d.below(cal.days_in(m)), m)
        } else {
            let tenure = if d.chance(0.5) {
                1 + d.below(MAX_TENURE_DAYS)
            } else {
                ((1.0 + d.exp1() * 500.0) as i32).min(MAX_TENURE_DAYS)
            };
            let day = start - tenure;
            (day, cal.month_of(day))
        };
        let contract = Contract::ALL[d.pick0(&Contract::MIX[s])];
        let seats = match segment {
            Segment::Consumer => 1,
            Segment::Smb => (1 + d.lognormal(4.0, 0.7) as u32).min(50),
            Segment::Enterprise => (10 + d.lognormal(50.0, 0.8) as u32).min(2000),
        };
        let tier_mul = [0.8, 1.0, 1.3, 1.7][usize::from(tier)];
        let price_sensitivity = sigmoid([-0.3, -0.6, -1.2][s] + 0.9 * d.z());
        let frailty = FRAILTY_SD * d.z();
        let stress = sigmoid([-2.0, -2.4, -2.8][s] + 0.9 * d.z());
        let sat_base = 0.3 + SATISFACTION_LEVEL_SD * d.z();
        let satisfaction = sat_base + SATISFACTION_START_SD * d.z();
        let location = (0.3 * d.z()).exp();
        let business = segment.is_business();
        let data_need = d.lognormal(if business { 5.0 } else { 8.0 } * tier_mul, 0.7);
        let voice_need = d.lognormal(if business { 350.0 } else { 180.0 }, 0.6);
        let sms_need = d.lognormal(if business { 8.0 } else { 30.0 }, 0.9);
        let growth = 0.006 + 0.008 * d.z();
        let disengage = d
            .chance(0.05 + 0.15 * sigmoid(2.0 * frailty))
            .then(|| (d.below(cal.months() + 2) - 2, 0.04 + 0.06 * d.u()));
        let mut taste = [1.0; Category::COUNT];
        for (i, t) in taste.iter_mut().enumerate() {
            *t = if i < Category::MAIN_STREAM {
                (0.5 * d.z()).exp()
            } else {
                (ADDON_TASTE_SD * side.z()).exp()
            };
        }
        let dog_harm = d.chance(0.06).then(|| 0.3 + 0.5 * d.u());
        let tau_base = (0.25 + 1.1 * price_sensitivity + 0.15 * d.z()).max(0.05);
        let term_ends = contract
            .term_months()
            .map(|t| {
                let signup_date = date_of(signup);
                let horizon = cal.last_day(cal.months() + 3);
                let mut ends = Vec::new();
                for k in 1u32.. {
                    let e = epoch_day(add_months(signup_date, k * t));
                    ends.push(e);
                    if e > horizon || k > 1000 {
                        break;
                    }
                }
                ends
            })
            .unwrap_or_default();
        let mut c = Customer {
            idx,
            segment,
            tier,
            region,
            manager,
            name,
            signup,
            signup_month,
            is_new,
            contract,
            term_ends,
            seats,
            latent: Latent {
                frailty,
                satisfaction,
                price_sensitivity,
            },
            sat_base,
            stress,
            location,
            data_need,
            voice_need,
            sms_need,
            growth,
            disengage,
            taste,
            tau_base,
            dog_harm,
            holdings: Vec::with_capacity(6),
            addons: Vec::new(),
            next_assignment: 1,
            next_ticket: 1,
            bills: Vec::new(),
            tickets: Vec::new(),
            usage: Vec::with_capacity(6),
            last_retention: None,
            last_upsell: None,
            treatment: None,
            discount_until: None,
        };
        c.initial_products(start, d);
        c.initial_addons(start, side);
        c
    }

    /// List fee of a product for this customer (per seat where the product is).
    pub fn list_fee(&self, product: usize) -> f64 {
        let p = &PRODUCTS[product];
        let seats = if p.per_seat {
            f64::from(self.seats)
        } else {
            1.0
        };
        cents(p.price * seats)
    }

    fn promo(d: &mut Dice) -> f64 {
        PROMOS[d.pick0(&PROMO_MIX)]
    }

    /// Adds a holding starting on `day` at the list fee less `promo`; returns its index.
    pub fn add_product(&mut self, product: usize, day: i32, promo: f64) -> usize {
        let fee = cents(self.list_fee(product) * (1.0 - promo));
        self.add_holding(product, fee, day)
    }

    pub fn add_holding(&mut self, product: usize, fee: f64, day: i32) -> usize {
        let h = self.new_holding(product, fee, day);
        self.holdings.push(h);
        self.holdings.len() - 1
    }

    fn initial_products(&mut self, window_start: i32, d: &mut Dice) {
        let t = f64::from(self.tier);
        let core = self.signup;
        let extra_day = |d: &mut Dice, c: &Customer| {
            if c.is_new {
                c.signup
            } else {
                c.signup + d.below(window_start - c.signup)
            }
        };
        let bb_mix = [0.55 - 0.1 * t, 0.30 + 0.05 * t, 0.15 + 0.05 * t];
        let business = self.segment.is_business();
        let mobile = d.chance(if business { 0.92 } else { 0.85 });
        let bb = d.chance(if business { 0.65 } else { 0.55 }) || !mobile;
        if mobile {
            let plan = plan_for_need(self.data_need * (0.6 + 0.9 * d.u()));
            let promo = Self::promo(d);
            self.add_product(plan, core, promo);
        }
        if bb {
            let biz_share = match self.segment {
                Segment::Consumer => 0.0,
                Segment::Smb => 0.5,
                Segment::Enterprise => 0.85,
            };
            let product = if d.chance(biz_share) {
                BB_BIZ
            } else {
                BB_100 + d.pick0(&bb_mix)
            };
            let promo = Self::promo(d);
            self.add_product(product, core, promo);
        }
        let extras: &[(usize, f64, bool)] = match self.segment {
            Segment::Consumer => &[
                (CLD_DRIVE, 0.07, false),
                (SEC_HOME, 0.07, true),
                (SEC_VPN, 0.05, false),
                (IOT_HOME, 0.05, true),
            ],
            Segment::Smb => &[
                (SEC_END, 0.30, false),
                (CLD_WORK, 0.30, false),
                (CLD_BACKUP, 0.15, false),
                (IOT_TRACK, 0.12, false),
                (SEC_VPN, 0.10, false),
            ],
            Segment::Enterprise => &[
                (SEC_END, 0.30, false),
                (CLD_WORK, 0.30, false),
                (CLD_BACKUP, 0.15, false),
                (IOT_TRACK, 0.12, false),
                (IOT_FLEET, 0.15, false),
                (SEC_FW, 0.30, true),
            ],
        };
        if !business && bb && d.chance((0.4 * self.taste[Category::Tv.index()]).min(0.9)) {
            let day = extra_day(d, self);
            let pack = TV_BASIC + d.pick0(&[0.5, 0.3, 0.2]);
            let promo = Self::promo(d);
            self.add_product(pack, day, promo);
        }
        for &(product, p, needs_bb) in extras {
            let cat = PRODUCTS[product].category.index();
            if needs_bb && !bb {
                continue;
            }
            if product == SEC_FW && !self.holds(BB_BIZ) {
                continue;
            }
            if d.chance((p * self.taste[cat] * (1.0 + 0.2 * t)).min(0.6)) {
                let day = extra_day(d, self);
                let promo = Self::promo(d);
                self.add_product(product, day, promo);
            }
        }
    }

    /// Whether the customer holds `product` (a product of the first catalogue or an add-on).
    pub fn holds(&self, product: usize) -> bool {
        self.holdings
            .iter()
            .chain(&self.addons)
            .any(|h| usize::from(h.product) == product)
    }

    /// Whether the customer holds a product of `cat` (add-ons have categories of their own, so
    /// the categories of the first catalogue see only `holdings`).
    pub fn holds_category(&self, cat: Category) -> bool {
        self.holdings
            .iter()
            .chain(&self.addons)
            .any(|h| PRODUCTS[usize::from(h.product)].category == cat)
    }

    /// Index into `holdings` and ladder step of the mobile plan, if any.
    pub fn mobile_plan(&self) -> Option<(usize, usize)> {
        self.holdings
            .iter()
            .enumerate()
            .find_map(|(i, h)| ladder_step(usize::from(h.product)).map(|s| (i, s)))
    }

    /// Adoption weight of every product of the first catalogue this customer could add now
    /// (0 = not a candidate): next-best-product rules × the customer's category taste. The
    /// add-ons of the wider catalogue are bought through [`Customer::addon_weights`].
    pub fn adoption_weights(&self) -> [f64; N_PRODUCTS] {
        let mobile = self.holds_category(Category::Mobile);
        let bb = self.holds_category(Category::Broadband);
        let tv = self.holds_category(Category::Tv);
        let plan = plan_for_need(self.data_need);
        let mut w = [0.0; N_PRODUCTS];
        for (p, weight) in w.iter_mut().enumerate().take(FIRST_ADDON) {
            let prod = &PRODUCTS[p];
            if !prod.eligible.allows(self.segment)
                || self.holds(p)
                || (prod.category.exclusive() && self.holds_category(prod.category))
            {
                continue;
            }
            let base = match p {
                _ if p == plan => either(bb, 2.0, 0.3),
                BB_100 if !self.segment.is_business() => either(mobile, 2.0, 0.0),
                BB_100 => either(mobile, 0.5, 0.0),
                BB_BIZ => either(mobile, 1.5, 0.0),
                TV_BASIC => either(bb, 3.0, 0.2),
                CLD_DRIVE => either(mobile, 0.8, 0.2),
                SEC_HOME => either(bb, 1.0, 0.0),
                SEC_VPN => 0.4,
                IOT_HOME => either(bb, either(tv, 1.2, 0.3), 0.0),
                SEC_END => either(mobile, 3.0, 0.5),
                CLD_WORK => either(mobile, 2.0, 0.5),
                CLD_BACKUP => either(self.holds(CLD_WORK), 2.5, 0.4),
                IOT_TRACK | IOT_FLEET => either(mobile, 1.0, 0.0),
                SEC_FW => either(self.holds(BB_BIZ), 1.5, 0.0),
                _ => 0.0,
            };
            *weight = base * self.taste[prod.category.index()];
        }
        w
    }

    /// Purchase weight of every add-on of the wider catalogue this customer could buy on
    /// `day` (0 = not a candidate): each follows a need the warehouse shows ([`Needs`]) × the
    /// customer's category taste; "need present" weighs 30–400× "need absent".
    pub fn addon_weights(&self, day: i32) -> [f64; N_PRODUCTS] {
        let mobile = self.holds_category(Category::Mobile);
        let bb = self.holds_category(Category::Broadband);
        let tv = self.holds_category(Category::Tv);
        let needs = self.needs(day);
        let enterprise = self.segment == Segment::Enterprise;
        let mut w = [0.0; N_PRODUCTS];
        for (p, weight) in w.iter_mut().enumerate().skip(FIRST_ADDON) {
            let prod = &PRODUCTS[p];
            if !prod.eligible.allows(self.segment) || self.holds(p) {
                continue;
            }
            let base = match p {
                // Heavy callers (voice minutes) buy call packs and hosted voice.
                ADD_INTL | BIZ_VOICE => either(mobile, 0.15 * (2.0 * needs.voice_z).exp(), 0.0),
                // Customers using most of their allowance (data GB against the plan) top it up.
                ADD_DATA => match needs.allowance_used {
                    Some(r) if r > 0.6 => 3.0 * r.min(1.2),
                    Some(_) => 0.01,
                    None => 0.0,
                },
                // Gold and platinum customers insure their devices.
                ADD_INS => either(mobile, [0.02, 0.05, 1.5, 3.0][usize::from(self.tier)], 0.0),
                ADD_ROAM => either(mobile, 0.3, 0.0),
                // A technical ticket lately: the home network needs help.
                HOME_MESH => either(bb, either(needs.technical_ticket, 4.0, 0.02), 0.0),
                // Dropped calls and outages where the customer lives: a signal booster.
                HOME_BOOST => either(mobile, 0.03 * (needs.network / 0.5).powi(4), 0.0),
                // No fibre on the islands and in the highlands: 5G home internet.
                HOME_5G if !bb => either(self.region >= 6, 4.0, 0.01),
                // Heavy data users stream.
                STR_VIDEO => either(bb, 0.2 * (1.8 * needs.data_z).exp(), 0.0),
                STR_MUSIC => either(mobile, 0.3, 0.0),
                STR_GAME => either(self.holds(BB_100 + 1) || self.holds(BB_100 + 2), 2.0, 0.02),
                // New customers set up cloud photos and office suites.
                CLD_PHOTO | CLD_OFFICE => either(needs.tenure_days < 365, 3.0, 0.02),
                SEC_KIDS => either(tv, 2.0, 0.02),
                // A billing ticket lately (a dispute, a charge the customer did not expect).
                SEC_ID => either(needs.billing_ticket, 3.0, 0.01),
                BIZ_MDM => 0.02 * f64::from(self.seats),
                NET_FAILOVER if self.holds(BB_BIZ) => {
                    0.03 * (needs.network / 0.5).powi(4) + either(needs.network_ticket, 3.0, 0.0)
                }
                NET_IP => either(bb, 0.4, 0.0),
                NET_SDWAN if enterprise && self.holds(BB_BIZ) => {
                    [0.02, 0.1, 1.0, 2.5][usize::from(self.tier)]
                }
                SEC_DDOS if enterprise && bb => either(needs.network_ticket, 3.0, 0.01),
                _ => 0.0,
            };
            *weight = base * self.taste[prod.category.index()];
        }
        w
    }

    /// What the customer needs on `day`, as the warehouse shows it.
    pub fn needs(&self, day: i32) -> Needs {
        let business = self.segment.is_business();
        let median_voice = if business { 350.0 } else { 180.0 };
        let last = self.usage.last();
        let data_per_seat = last.map_or(self.data_need, |u| u.data_per_seat);
        let allowance_used = self.mobile_plan().and_then(|(i, _)| {
            PRODUCTS[usize::from(self.holdings[i].product)]
                .allowance
                .map(|a| data_per_seat / a)
        });
        let recent = |cat: u8| {
            self.tickets
                .iter()
                .any(|t| t.category == cat && t.opened_day > day - 90 && t.opened_day <= day)
        };
        Needs {
            voice_z: (self.voice_need / median_voice).ln() / 0.6,
            data_z: (data_per_seat.max(0.1) / 8.0).ln() / 0.8,
            allowance_used,
            network: REGIONS[usize::from(self.region)].drop_rate * self.location,
            technical_ticket: recent(super::simulate::TECHNICAL),
            billing_ticket: recent(super::simulate::BILLING),
            network_ticket: recent(super::simulate::NETWORK),
            tenure_days: day - self.signup,
        }
    }

    /// The single most likely next product (what an upsell campaign offers), if any.
    pub fn best_product(&self) -> Option<usize> {
        let w = self.adoption_weights();
        let mut best: Option<usize> = None;
        for (p, &x) in w.iter().enumerate() {
            if x > 0.0 && best.is_none_or(|b| x > w[b]) {
                best = Some(p);
            }
        }
        best
    }

    /// Add-ons of the wider catalogue already held on the first simulated day, drawn from the
    /// side stream with a chance that follows the same needs as later purchases.
    fn initial_addons(&mut self, window_start: i32, side: &mut Dice) {
        let day = if self.is_new {
            self.signup
        } else {
            window_start
        };
        let weights = self.addon_weights(day);
        for (p, &w) in weights.iter().enumerate() {
            if w > 0.0 && side.chance((0.04 * w).min(0.3)) {
                let start = if self.is_new {
                    self.signup
                } else {
                    self.signup + side.below(window_start - self.signup)
                };
                let promo = Self::promo(side);
                self.add_addon(p, start, promo);
            }
        }
    }

    /// Adds an add-on starting on `day` at the list fee less `promo`.
    pub fn add_addon(&mut self, product: usize, day: i32, promo: f64) {
        let fee = cents(self.list_fee(product) * (1.0 - promo));
        let h = self.new_holding(product, fee, day);
        self.addons.push(h);
    }

    /// A holding with the next assignment number.
    fn new_holding(&mut self, product: usize, fee: f64, day: i32) -> Holding {
        let h = Holding {
            product: product as u8,
            fee,
            start: day,
            seq: self.next_assignment,
        };
        self.next_assignment += 1;
        h
    }

    /// Contract position on `day`.
    pub fn clock(&self, day: i32) -> ContractClock {
        match self.term_end_at(day) {
            None => ContractClock::MonthToMonth,
            Some(end) if end - day <= NEAR_END_DAYS => ContractClock::NearEnd,
            Some(_) => ContractClock::MidTerm,
        }
    }

    /// End of the contract term running on `day` (`None` for month-to-month).
    pub fn term_end_at(&self, day: i32) -> Option<i32> {
        if self.term_ends.is_empty() {
            return None;
        }
        let i = self.term_ends.partition_point(|&e| e < day);
        self.term_ends.get(i).or(self.term_ends.last()).copied()
    }

    /// Whole months between signup and `day`.
    pub fn tenure_months(&self, day: i32) -> i32 {
        (f64::from(day - self.signup) / 30.4375).floor() as i32
    }

    /// Usage multiplier for slow disengagement in month `m` (1 when engaged; floor 0.15).
    pub fn engagement(&self, m: i32) -> f64 {
        match self.disengage {
            Some((start, rate)) if m > start => (-rate * f64::from(m - start)).exp().max(0.15),
            _ => 1.0,
        }
    }

    /// Retention treatment acting in month `m` (log-odds reduction; 0 if none).
    pub fn tau_at(&self, m: i32) -> f64 {
        match self.treatment {
            Some((last, tau)) if m <= last => tau,
            _ => 0.0,
        }
    }

    /// Mobile allowance in GB for the whole account, `None` when unlimited or no mobile plan.
    pub fn allowance(&self) -> Option<f64> {
        self.mobile_plan().and_then(|(i, _)| {
            PRODUCTS[usize::from(self.holdings[i].product)]
                .allowance
                .map(|a| a * f64::from(self.seats))
        })
    }

    /// The mobile ladder product one step away from the current plan.
    pub fn ladder_neighbour(&self, up: bool) -> Option<usize> {
        let (_, step) = self.mobile_plan()?;
        if up {
            MOBILE_LADDER.get(step + 1).copied()
        } else {
            step.checked_sub(1).map(|s| MOBILE_LADDER[s])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn dice(seed: u64) -> Dice {
        Dice(ChaCha8Rng::seed_from_u64(seed))
    }

    #[test]
    fn poisson_mean_is_close_to_lambda() {
        let mut d = dice(1);
        for lambda in [0.3, 4.0, 40.0] {
            let n = 20_000;
            let mean = (0..n).map(|_| f64::from(d.poisson(lambda))).sum::<f64>() / n as f64;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.02,
                "{lambda}: {mean}"
            );
        }
    }

    #[test]
    fn pick_follows_weights_and_skips_zeros() {
        let mut d = dice(2);
        let mut counts = [0; 3];
        for _ in 0..10_000 {
            counts[d.pick0(&[1.0, 0.0, 3.0])] += 1;
        }
        assert_eq!(counts[1], 0);
        assert!((counts[2] as f64 / counts[0] as f64 - 3.0).abs() < 0.3);
        assert_eq!(d.pick(&[0.0, 0.0]), None);
    }

    #[test]
    fn every_customer_holds_a_product_and_term_ends_follow_signup() {
        let cal = Calendar::new(
            chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("date"),
            24,
        );
        for idx in 0..500 {
            let mut d = dice(idx);
            let mut side = dice(idx + 1_000_000);
            let c = Customer::draw(&cal, idx as u32, 0.26, 10, &mut d, &mut side);
            assert!(!c.holdings.is_empty());
            assert!(c.holdings.iter().all(|h| h.start >= c.signup));
            assert_eq!(c.manager.is_some(), c.segment.is_business());
            match c.contract.term_months() {
                None => assert!(c.term_ends.is_empty()),
                Some(_) => {
                    assert!(c.term_ends[0] > c.signup);
                    assert!(c.term_ends.windows(2).all(|w| w[0] < w[1]));
                }
            }
        }
    }
}
