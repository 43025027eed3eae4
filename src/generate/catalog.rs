//! Novacom's fixed world: segments, tiers, regions (with their network quality), contract types
//! and the product catalogue (`dim_product`). Everything here is constant; the per-customer
//! randomness lives in `customer.rs` and `simulate.rs`.

use polars::prelude::{Column, DataFrame, NamedFrom, PolarsResult, Series};

use crate::warehouse::schema::product as col;

/// Customer segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    Consumer,
    Smb,
    Enterprise,
}

impl Segment {
    pub const ALL: [Segment; 3] = [Segment::Consumer, Segment::Smb, Segment::Enterprise];
    /// Share of customers in each segment (consumer, smb, enterprise).
    pub const SHARE: [f64; 3] = [0.80, 0.15, 0.05];

    pub fn name(self) -> &'static str {
        match self {
            Segment::Consumer => "consumer",
            Segment::Smb => "smb",
            Segment::Enterprise => "enterprise",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_business(self) -> bool {
        self != Segment::Consumer
    }
}

/// Tiers, lowest first.
pub const TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
/// Tier mix per segment (rows: consumer, smb, enterprise).
pub const TIER_MIX: [[f64; 4]; 3] = [
    [0.45, 0.35, 0.15, 0.05],
    [0.25, 0.40, 0.25, 0.10],
    [0.05, 0.20, 0.40, 0.35],
];

/// A sales region and its network quality.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    pub name: &'static str,
    /// Share of customers living there.
    pub share: f64,
    /// Dropped calls per 100 voice minutes on a normal month.
    pub drop_rate: f64,
    /// Probability of a major outage event touching a customer in a month.
    pub outage_prob: f64,
    /// Mean background outage minutes per month (exponential).
    pub background_outage: f64,
}

/// The eight regions, best network first within the list order given.
pub const REGIONS: [Region; 8] = [
    region("capital", 0.22, 0.3, 0.03, 4.0),
    region("west", 0.14, 0.4, 0.04, 6.0),
    region("south", 0.15, 0.5, 0.05, 8.0),
    region("east", 0.13, 0.6, 0.06, 9.0),
    region("coast", 0.10, 0.7, 0.07, 10.0),
    region("north", 0.12, 0.8, 0.08, 12.0),
    region("islands", 0.07, 1.2, 0.12, 20.0),
    region("highlands", 0.07, 1.4, 0.14, 25.0),
];

const fn region(
    name: &'static str,
    share: f64,
    drop_rate: f64,
    outage_prob: f64,
    background_outage: f64,
) -> Region {
    Region {
        name,
        share,
        drop_rate,
        outage_prob,
        background_outage,
    }
}

/// Contract types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    MonthToMonth,
    OneYear,
    TwoYear,
}

impl Contract {
    pub const ALL: [Contract; 3] = [Contract::MonthToMonth, Contract::OneYear, Contract::TwoYear];
    /// Contract mix per segment (rows: consumer, smb, enterprise; columns as [`Contract::ALL`]).
    pub const MIX: [[f64; 3]; 3] = [[0.45, 0.30, 0.25], [0.30, 0.45, 0.25], [0.10, 0.40, 0.50]];

    pub fn name(self) -> &'static str {
        match self {
            Contract::MonthToMonth => "month_to_month",
            Contract::OneYear => "one_year",
            Contract::TwoYear => "two_year",
        }
    }

    /// Term length in months (`None` for month-to-month).
    pub fn term_months(self) -> Option<u32> {
        match self {
            Contract::MonthToMonth => None,
            Contract::OneYear => Some(12),
            Contract::TwoYear => Some(24),
        }
    }
}

/// Product category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Mobile,
    Broadband,
    Tv,
    Cloud,
    Security,
    Iot,
    Addon,
    Home,
    Streaming,
    Voice,
    Network,
}

impl Category {
    pub const COUNT: usize = 11;
    /// The first six categories (the original catalogue) take their per-customer taste from the
    /// customer's main random stream; the later ones from a side stream, so that widening the
    /// catalogue left every other draw of a customer unchanged.
    pub const MAIN_STREAM: usize = 6;

    pub fn name(self) -> &'static str {
        match self {
            Category::Mobile => "mobile",
            Category::Broadband => "broadband",
            Category::Tv => "tv",
            Category::Cloud => "cloud",
            Category::Security => "security",
            Category::Iot => "iot",
            Category::Addon => "addon",
            Category::Home => "home",
            Category::Streaming => "streaming",
            Category::Voice => "voice",
            Category::Network => "network",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// Categories where a customer holds at most one product (a plan, a line, a pack).
    pub fn exclusive(self) -> bool {
        matches!(self, Category::Mobile | Category::Broadband | Category::Tv)
    }
}

/// Which segments may buy a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligible {
    Everyone,
    Consumer,
    Business,
    Enterprise,
}

impl Eligible {
    pub fn allows(self, s: Segment) -> bool {
        match self {
            Eligible::Everyone => true,
            Eligible::Consumer => s == Segment::Consumer,
            Eligible::Business => s.is_business(),
            Eligible::Enterprise => s == Segment::Enterprise,
        }
    }

    /// The `eligible_segments` value written to `dim_product` (null = everyone).
    pub fn value(self) -> Option<&'static str> {
        match self {
            Eligible::Everyone => None,
            Eligible::Consumer => Some("consumer"),
            Eligible::Business => Some("smb;enterprise"),
            Eligible::Enterprise => Some("enterprise"),
        }
    }
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    pub id: &'static str,
    pub name: &'static str,
    pub category: Category,
    /// List price per month (per seat when `per_seat`).
    pub price: f64,
    pub margin: f64,
    /// Monthly data allowance in GB per seat; `None` for unlimited or non-data products.
    pub allowance: Option<f64>,
    pub eligible: Eligible,
    /// Billed per seat (mobile lines, endpoint licences, trackers) rather than per account.
    pub per_seat: bool,
}

#[allow(clippy::too_many_arguments)]
const fn p(
    id: &'static str,
    name: &'static str,
    category: Category,
    price: f64,
    margin: f64,
    allowance: Option<f64>,
    eligible: Eligible,
    per_seat: bool,
) -> Product {
    Product {
        id,
        name,
        category,
        price,
        margin,
        allowance,
        eligible,
        per_seat,
    }
}

use Category::*;
use Eligible::{Business, Consumer, Enterprise, Everyone};

/// The catalogue. Indices are used throughout the simulation (see the `MOB_*`, `BB_*`, ...
/// constants below).
pub const PRODUCTS: [Product; 41] = [
    p(
        "MOB-05",
        "Mobile 5 GB",
        Mobile,
        15.0,
        0.62,
        Some(5.0),
        Everyone,
        true,
    ),
    p(
        "MOB-15",
        "Mobile 15 GB",
        Mobile,
        25.0,
        0.64,
        Some(15.0),
        Everyone,
        true,
    ),
    p(
        "MOB-40",
        "Mobile 40 GB",
        Mobile,
        35.0,
        0.66,
        Some(40.0),
        Everyone,
        true,
    ),
    p(
        "MOB-UNL",
        "Mobile Unlimited",
        Mobile,
        50.0,
        0.68,
        None,
        Everyone,
        true,
    ),
    p(
        "BB-100",
        "Fibre 100",
        Broadband,
        30.0,
        0.38,
        None,
        Everyone,
        false,
    ),
    p(
        "BB-500",
        "Fibre 500",
        Broadband,
        45.0,
        0.42,
        None,
        Everyone,
        false,
    ),
    p(
        "BB-1000",
        "Fibre 1 Gbit",
        Broadband,
        60.0,
        0.45,
        None,
        Everyone,
        false,
    ),
    p(
        "BB-BIZ",
        "Business Fibre Pro",
        Broadband,
        90.0,
        0.48,
        None,
        Business,
        false,
    ),
    p(
        "TV-BASIC", "TV Basic", Tv, 12.0, 0.25, None, Consumer, false,
    ),
    p(
        "TV-SPORT",
        "TV Sports",
        Tv,
        25.0,
        0.22,
        None,
        Consumer,
        false,
    ),
    p(
        "TV-PREM",
        "TV Premium",
        Tv,
        35.0,
        0.28,
        None,
        Consumer,
        false,
    ),
    p(
        "CLD-DRIVE",
        "Cloud Drive 1 TB",
        Cloud,
        5.0,
        0.72,
        None,
        Consumer,
        false,
    ),
    p(
        "CLD-BACKUP",
        "Business Backup",
        Cloud,
        8.0,
        0.70,
        None,
        Business,
        true,
    ),
    p(
        "CLD-WORK",
        "Cloud Workspace",
        Cloud,
        12.0,
        0.66,
        None,
        Business,
        true,
    ),
    p(
        "SEC-HOME",
        "Home Security Suite",
        Security,
        6.0,
        0.78,
        None,
        Consumer,
        false,
    ),
    p(
        "SEC-END",
        "Endpoint Protection",
        Security,
        5.0,
        0.76,
        None,
        Business,
        true,
    ),
    p(
        "SEC-FW",
        "Managed Firewall",
        Security,
        120.0,
        0.60,
        None,
        Enterprise,
        false,
    ),
    p(
        "SEC-VPN",
        "Secure VPN",
        Security,
        4.0,
        0.80,
        None,
        Everyone,
        false,
    ),
    p(
        "IOT-HOME",
        "Smart Home Hub",
        Iot,
        8.0,
        0.55,
        None,
        Consumer,
        false,
    ),
    p(
        "IOT-TRACK",
        "Asset Tracker",
        Iot,
        4.0,
        0.52,
        None,
        Business,
        true,
    ),
    p(
        "IOT-FLEET",
        "Fleet Telematics",
        Iot,
        10.0,
        0.58,
        None,
        Enterprise,
        true,
    ),
    // Add-ons and services whose uptake follows a need the warehouse shows (usage, network
    // quality, tickets, tier, tenure, seats): see `Customer::adoption_weights`.
    p(
        "ADD-INTL",
        "International Calls",
        Addon,
        9.0,
        0.72,
        None,
        Consumer,
        false,
    ),
    p(
        "ADD-DATA",
        "Data Booster 10 GB",
        Addon,
        7.0,
        0.74,
        None,
        Consumer,
        false,
    ),
    p(
        "ADD-INS",
        "Device Insurance",
        Addon,
        8.0,
        0.80,
        None,
        Everyone,
        true,
    ),
    p(
        "ADD-ROAM",
        "Roaming Pass",
        Addon,
        10.0,
        0.70,
        None,
        Everyone,
        true,
    ),
    p(
        "HOME-MESH",
        "Wi-Fi Mesh Extender",
        Home,
        6.0,
        0.50,
        None,
        Consumer,
        false,
    ),
    p(
        "HOME-BOOST",
        "Signal Booster",
        Home,
        5.0,
        0.45,
        None,
        Everyone,
        false,
    ),
    p(
        "STR-VIDEO",
        "Streaming Plus",
        Streaming,
        11.0,
        0.30,
        None,
        Consumer,
        false,
    ),
    p(
        "STR-MUSIC",
        "Music Unlimited",
        Streaming,
        6.0,
        0.35,
        None,
        Consumer,
        false,
    ),
    p(
        "STR-GAME",
        "Cloud Gaming",
        Streaming,
        13.0,
        0.32,
        None,
        Consumer,
        false,
    ),
    p(
        "CLD-PHOTO",
        "Cloud Photos 200 GB",
        Cloud,
        3.0,
        0.75,
        None,
        Consumer,
        false,
    ),
    p(
        "SEC-KIDS",
        "Parental Control",
        Security,
        4.0,
        0.78,
        None,
        Consumer,
        false,
    ),
    p(
        "SEC-ID",
        "Identity Protection",
        Security,
        5.0,
        0.80,
        None,
        Everyone,
        false,
    ),
    p(
        "HOME-5G",
        "5G Home Internet",
        Home,
        35.0,
        0.40,
        None,
        Everyone,
        false,
    ),
    p(
        "BIZ-VOICE",
        "Hosted Voice",
        Voice,
        6.0,
        0.65,
        None,
        Business,
        true,
    ),
    p(
        "BIZ-MDM",
        "Device Management",
        Security,
        3.0,
        0.78,
        None,
        Business,
        true,
    ),
    p(
        "NET-FAILOVER",
        "4G Failover Backup",
        Network,
        25.0,
        0.55,
        None,
        Business,
        false,
    ),
    p(
        "NET-IP",
        "Static IP",
        Network,
        10.0,
        0.80,
        None,
        Business,
        false,
    ),
    p(
        "NET-SDWAN",
        "SD-WAN",
        Network,
        300.0,
        0.45,
        None,
        Enterprise,
        false,
    ),
    p(
        "SEC-DDOS",
        "DDoS Protection",
        Security,
        150.0,
        0.55,
        None,
        Enterprise,
        false,
    ),
    p(
        "CLD-OFFICE",
        "Office Suite",
        Cloud,
        9.0,
        0.25,
        None,
        Business,
        true,
    ),
];

/// Number of products.
pub const N_PRODUCTS: usize = PRODUCTS.len();
/// The mobile ladder, smallest allowance first (indices into [`PRODUCTS`]).
pub const MOBILE_LADDER: [usize; 4] = [0, 1, 2, 3];
pub const BB_100: usize = 4;
pub const BB_BIZ: usize = 7;
pub const TV_BASIC: usize = 8;
pub const CLD_DRIVE: usize = 11;
pub const CLD_BACKUP: usize = 12;
pub const CLD_WORK: usize = 13;
pub const SEC_HOME: usize = 14;
pub const SEC_END: usize = 15;
pub const SEC_FW: usize = 16;
pub const SEC_VPN: usize = 17;
pub const IOT_HOME: usize = 18;
pub const IOT_TRACK: usize = 19;
pub const IOT_FLEET: usize = 20;
/// The first product of the wider catalogue (add-ons whose uptake follows an observable need).
pub const FIRST_ADDON: usize = 21;
pub const ADD_INTL: usize = 21;
pub const ADD_DATA: usize = 22;
pub const ADD_INS: usize = 23;
pub const ADD_ROAM: usize = 24;
pub const HOME_MESH: usize = 25;
pub const HOME_BOOST: usize = 26;
pub const STR_VIDEO: usize = 27;
pub const STR_MUSIC: usize = 28;
pub const STR_GAME: usize = 29;
pub const CLD_PHOTO: usize = 30;
pub const SEC_KIDS: usize = 31;
pub const SEC_ID: usize = 32;
pub const HOME_5G: usize = 33;
pub const BIZ_VOICE: usize = 34;
pub const BIZ_MDM: usize = 35;
pub const NET_FAILOVER: usize = 36;
pub const NET_IP: usize = 37;
pub const NET_SDWAN: usize = 38;
pub const SEC_DDOS: usize = 39;
pub const CLD_OFFICE: usize = 40;

/// Position of a product on the mobile ladder, if it is a mobile plan.
pub fn ladder_step(product: usize) -> Option<usize> {
    MOBILE_LADDER.iter().position(|&p| p == product)
}

/// The smallest mobile plan whose allowance covers `gb_per_seat` (unlimited if none does).
pub fn plan_for_need(gb_per_seat: f64) -> usize {
    MOBILE_LADDER
        .iter()
        .copied()
        .find(|&p| PRODUCTS[p].allowance.is_some_and(|a| a >= gb_per_seat))
        .unwrap_or(MOBILE_LADDER[MOBILE_LADDER.len() - 1])
}

/// `dim_product` as a frame in contract column order.
pub fn product_frame() -> PolarsResult<DataFrame> {
    let cols: Vec<Column> = vec![
        Series::new(
            col::ID.into(),
            PRODUCTS.iter().map(|p| p.id).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            col::NAME.into(),
            PRODUCTS.iter().map(|p| p.name).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            col::CATEGORY.into(),
            PRODUCTS
                .iter()
                .map(|p| p.category.name())
                .collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            col::MONTHLY_PRICE.into(),
            PRODUCTS.iter().map(|p| p.price).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            col::MARGIN_RATE.into(),
            PRODUCTS.iter().map(|p| p.margin).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            col::DATA_ALLOWANCE_GB.into(),
            PRODUCTS.iter().map(|p| p.allowance).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            col::ELIGIBLE_SEGMENTS.into(),
            PRODUCTS
                .iter()
                .map(|p| p.eligible.value())
                .collect::<Vec<_>>(),
        )
        .into(),
    ];
    DataFrame::new(PRODUCTS.len(), cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_one() {
        let close = |x: f64| (x - 1.0).abs() < 1e-9;
        assert!(close(Segment::SHARE.iter().sum()));
        assert!(close(REGIONS.iter().map(|r| r.share).sum()));
        for row in TIER_MIX.iter() {
            assert!(close(row.iter().sum()));
        }
        for row in Contract::MIX.iter() {
            assert!(close(row.iter().sum()));
        }
    }

    #[test]
    fn ladder_rises_in_allowance_and_price() {
        let prices: Vec<f64> = MOBILE_LADDER.iter().map(|&i| PRODUCTS[i].price).collect();
        assert!(prices.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(plan_for_need(4.0), 0);
        assert_eq!(plan_for_need(15.0), 1);
        assert_eq!(plan_for_need(16.0), 2);
        assert_eq!(plan_for_need(90.0), 3);
        assert_eq!(PRODUCTS[IOT_FLEET].id, "IOT-FLEET");
        assert_eq!(PRODUCTS[SEC_VPN].id, "SEC-VPN");
        assert_eq!(PRODUCTS[BB_BIZ].id, "BB-BIZ");
        assert_eq!(PRODUCTS[ADD_INTL].id, "ADD-INTL");
        assert_eq!(PRODUCTS[HOME_5G].id, "HOME-5G");
        assert_eq!(PRODUCTS[CLD_OFFICE].id, "CLD-OFFICE");
    }

    #[test]
    fn margins_are_in_range_and_ids_unique() {
        assert!(PRODUCTS.iter().all(|p| (0.2..=0.8).contains(&p.margin)));
        let mut ids: Vec<_> = PRODUCTS.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), N_PRODUCTS);
    }
}
