//! Load generator of the gRPC benchmark (benches/grpc/run.sh): a bounded tonic client.
//!
//!   grpc_load sample --addr A --ids ids.txt --response resp.bin [--n 100000]
//!       ids of the served customers (from ScoreCustomers) and one encoded ScoreCustomerResponse
//!       (for the echo server, so both servers answer with the same bytes)
//!   grpc_load unary --addr A --ids ids.txt [--concurrency 64] [--connections 4] [--seconds 10]
//!                   [--rate R]
//!       ScoreCustomer with `concurrency` calls in flight; JSON: rps, latency percentiles,
//!       failures by status code, model versions seen (a hot reload shows two).
//!       Closed loop by default (each worker calls again as soon as its answer arrives: the
//!       saturation throughput). With `--rate R` open loop: calls are scheduled at a fixed total
//!       rate of R a second, spread over the same `concurrency` workers; a call that starts
//!       late because its worker was still busy is timed from its scheduled start (queueing
//!       counts, no coordinated omission); a worker that was idle is timed from when it woke
//!       (tokio's 1 ms timer granularity is not the server's latency).
//!   grpc_load stream --addr A [--batch 5000] [--decode full|ids]
//!       ScoreCustomers of every customer; JSON: customers, seconds, megabytes received.
//!       `full` (default) decodes every message into the prost structs (what a tonic client
//!       gets); `ids` walks the same bytes but reads only each customer's id and probability
//!       (a campaign pulling who to call), so the client's share of the 2 cores is small.
//!
//! HTTP/2 settings of every connection: `--window-kb` (stream and connection receive
//! windows) and `--frame-kb` (largest frame the server may send); 0 = hyper's defaults
//! (2 MiB / 5 MiB windows, 16 KiB frames).
//!
//! Every answer's status is checked (unlike h2load); a failed call is counted, never retried.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use prost::Message;
use tonic::transport::Endpoint;

use churn::server::pb::{self, churn_service_client::ChurnServiceClient};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Sample {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        ids: std::path::PathBuf,
        #[arg(long)]
        response: std::path::PathBuf,
        #[arg(long, default_value_t = 100_000)]
        n: usize,
    },
    Unary {
        #[arg(long)]
        addr: String,
        #[arg(long)]
        ids: std::path::PathBuf,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 4)]
        connections: usize,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 1.0)]
        warmup: f64,
        /// Open loop: total calls a second (default: closed loop, as fast as answers come).
        #[arg(long)]
        rate: Option<f64>,
        #[command(flatten)]
        h2: H2,
    },
    Stream {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 5_000)]
        batch: u32,
        #[arg(long, value_enum, default_value_t = Decode::Full)]
        decode: Decode,
        #[command(flatten)]
        h2: H2,
    },
    /// Polls grpc.health.v1 until churn.v1.ChurnService is SERVING; prints the seconds waited.
    Wait {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 600.0)]
        timeout: f64,
    },
}

/// HTTP/2 settings of the client's connections.
#[derive(clap::Args, Clone, Copy, Debug, Default)]
struct H2 {
    /// Stream and connection receive windows in KiB (0 = hyper's defaults).
    #[arg(long, default_value_t = 0)]
    window_kb: u32,
    /// Largest frame the server may send, in KiB (0 = 16 KiB, the HTTP/2 default).
    #[arg(long, default_value_t = 0)]
    frame_kb: u32,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Decode {
    Full,
    Ids,
}

type Client = ChurnServiceClient<tonic::transport::Channel>;

async fn channel(
    addr: &str,
    h2: H2,
) -> Result<tonic::transport::Channel, Box<dyn std::error::Error>> {
    let mut e = Endpoint::from_shared(format!("http://{addr}"))?.tcp_nodelay(true);
    if h2.window_kb > 0 {
        e = e
            .initial_stream_window_size(h2.window_kb * 1024)
            .initial_connection_window_size(h2.window_kb * 1024);
    }
    if h2.frame_kb > 0 {
        e = e.max_frame_size(h2.frame_kb * 1024);
    }
    Ok(e.connect().await?)
}

async fn client(addr: &str, h2: H2) -> Result<Client, Box<dyn std::error::Error>> {
    Ok(ChurnServiceClient::new(channel(addr, h2).await?).max_decoding_message_size(256 << 20))
}

/// What the stream client keeps of one ScoreCustomersResponse.
struct Batch {
    customers: usize,
    bytes: usize,
    model_version: String,
    /// Sum of the churn probabilities read (so the `ids` walk cannot be skipped).
    probability_sum: f64,
}

/// Requests encoded by prost; answers decoded as [`Decode`] says.
struct BatchCodec(Decode);

struct BatchDecoder(Decode);

impl tonic::codec::Codec for BatchCodec {
    type Encode = pb::ScoreCustomersRequest;
    type Decode = Batch;
    type Encoder = tonic_prost::ProstEncoder<pb::ScoreCustomersRequest>;
    type Decoder = BatchDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        BatchDecoder(self.0)
    }
}

impl tonic::codec::Decoder for BatchDecoder {
    type Item = Batch;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Batch>, tonic::Status> {
        use prost::bytes::Buf;
        let bytes = src.remaining();
        let bad = |e: String| tonic::Status::data_loss(format!("undecodable batch: {e}"));
        match self.0 {
            Decode::Full => {
                // prost decodes a contiguous slice faster than tonic's chunked buffer.
                let data = src.copy_to_bytes(bytes);
                let m = pb::ScoreCustomersResponse::decode(data).map_err(|e| bad(e.to_string()))?;
                Ok(Some(Batch {
                    customers: m.scores.len(),
                    bytes,
                    probability_sum: m.scores.iter().map(|s| s.churn_probability).sum(),
                    model_version: m.model_version,
                }))
            }
            Decode::Ids => {
                let data = src.copy_to_bytes(bytes);
                walk_ids(&data, bytes).map(Some).map_err(bad)
            }
        }
    }
}

fn read_varint(b: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or("truncated varint")?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
    }
    Err("varint longer than 10 bytes".into())
}

/// Skips one field's value of wire type `wt` (or returns a LEN field's range).
fn field_value(b: &[u8], at: &mut usize, wt: u64) -> Result<std::ops::Range<usize>, String> {
    let start = *at;
    match wt {
        0 => {
            read_varint(b, at)?;
        }
        1 => *at += 8,
        2 => {
            let n = read_varint(b, at)? as usize;
            let r = *at..*at + n;
            *at += n;
            if *at > b.len() {
                return Err("field runs past the message".into());
            }
            return Ok(r);
        }
        5 => *at += 4,
        _ => return Err(format!("wire type {wt}")),
    }
    if *at > b.len() {
        return Err("field runs past the message".into());
    }
    Ok(start..*at)
}

/// Walks a ScoreCustomersResponse reading model_version (2) and, of each score (4), only
/// customer_id (1) and churn_probability (6).
fn walk_ids(b: &[u8], bytes: usize) -> Result<Batch, String> {
    let mut at = 0;
    let mut out = Batch {
        customers: 0,
        bytes,
        model_version: String::new(),
        probability_sum: 0.0,
    };
    while at < b.len() {
        let key = read_varint(b, &mut at)?;
        let r = field_value(b, &mut at, key & 7)?;
        match key >> 3 {
            2 => {
                out.model_version = std::str::from_utf8(&b[r])
                    .map_err(|e| e.to_string())?
                    .to_string()
            }
            4 => {
                let s = &b[r];
                let mut i = 0;
                let mut has_id = false;
                while i < s.len() {
                    let key = read_varint(s, &mut i)?;
                    let v = field_value(s, &mut i, key & 7)?;
                    match key >> 3 {
                        1 => {
                            has_id = !std::str::from_utf8(&s[v])
                                .map_err(|e| e.to_string())?
                                .is_empty()
                        }
                        6 => {
                            let x: [u8; 8] = s[v].try_into().map_err(|_| "short double")?;
                            out.probability_sum += f64::from_le_bytes(x);
                        }
                        _ => {}
                    }
                }
                if !has_id {
                    return Err("a score without customer_id".into());
                }
                out.customers += 1;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct UnaryRun {
    concurrency: usize,
    connections: usize,
    seconds: f64,
    warmup: f64,
    rate: Option<f64>,
    h2: H2,
}

async fn unary(
    addr: &str,
    ids: Vec<String>,
    run: UnaryRun,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let UnaryRun {
        concurrency,
        connections,
        seconds,
        warmup,
        rate,
        h2,
    } = run;
    let mut clients = Vec::new();
    for _ in 0..connections.max(1) {
        clients.push(client(addr, h2).await?);
    }
    // Open loop: worker t makes calls k = 0, 1, … at origin + (k × concurrency + t) / rate.
    let origin = tokio::time::Instant::now();
    let period = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r.max(1e-9)));
    let offset = rate.map(|r| Duration::from_secs_f64(1.0 / r.max(1e-9)));
    let ids = Arc::new(ids);
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let mut c = clients[t % clients.len()].clone();
        let ids = ids.clone();
        let (stop, measuring) = (stop.clone(), measuring.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::with_capacity(1 << 16);
            let mut failed: BTreeMap<String, u64> = BTreeMap::new();
            let mut versions = BTreeSet::new();
            let mut i = t.wrapping_mul(7919);
            let mut k: u32 = 0;
            while !stop.load(Ordering::Relaxed) {
                i = i.wrapping_add(104_729);
                let id = ids[i % ids.len()].clone();
                let started = match (period, offset) {
                    (Some(p), Some(o)) => {
                        let due = origin + o * t as u32 + p * k;
                        k += 1;
                        let now = tokio::time::Instant::now();
                        if now >= due {
                            // Behind schedule: the wait for this worker counts.
                            due.into_std()
                        } else {
                            tokio::time::sleep_until(due).await;
                            Instant::now()
                        }
                    }
                    _ => Instant::now(),
                };
                let r = c
                    .score_customer(pb::ScoreCustomerRequest {
                        request_id: String::new(),
                        customer_id: id,
                    })
                    .await;
                let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
                if !measuring.load(Ordering::Relaxed) {
                    continue;
                }
                match r {
                    Ok(a) => {
                        lat.push(us);
                        let v = a.into_inner().model_version;
                        if !versions.contains(&v) {
                            versions.insert(v);
                        }
                    }
                    Err(s) => *failed.entry(format!("{:?}", s.code())).or_default() += 1,
                }
            }
            (lat, failed, versions)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(warmup)).await;
    measuring.store(true, Ordering::SeqCst);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    measuring.store(false, Ordering::SeqCst);
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::SeqCst);
    let mut lat = Vec::new();
    let mut failed: BTreeMap<String, u64> = BTreeMap::new();
    let mut versions = BTreeSet::new();
    for t in tasks {
        let (l, f, v) = t.await?;
        lat.extend(l);
        for (k, n) in f {
            *failed.entry(k).or_default() += n;
        }
        versions.extend(v);
    }
    lat.sort_unstable();
    let failures: u64 = failed.values().sum();
    Ok(serde_json::json!({
        "addr": addr,
        "mode": if rate.is_some() { "open" } else { "closed" },
        "offered_rps": rate,
        "concurrency": concurrency,
        "connections": connections,
        "seconds": elapsed,
        "ok": lat.len(),
        "failed": failures,
        "failed_by_code": failed,
        "rps": lat.len() as f64 / elapsed,
        "p50_us": percentile(&lat, 0.50),
        "p90_us": percentile(&lat, 0.90),
        "p99_us": percentile(&lat, 0.99),
        "p999_us": percentile(&lat, 0.999),
        "max_us": lat.last().copied().unwrap_or(0),
        "model_versions": versions,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Cmd::Sample {
            addr,
            ids,
            response,
            n,
        } => {
            let mut c = client(&addr, H2::default()).await?;
            let mut s = c
                .score_customers(pb::ScoreCustomersRequest {
                    batch_size: 5_000,
                    ..Default::default()
                })
                .await?
                .into_inner();
            let mut out = Vec::new();
            while let Some(m) = s.message().await? {
                out.extend(m.scores.into_iter().map(|s| s.customer_id));
                if out.len() >= n {
                    break;
                }
            }
            out.truncate(n);
            let first = out.first().cloned().ok_or("the server has no customers")?;
            let answer = c
                .score_customer(pb::ScoreCustomerRequest {
                    request_id: String::new(),
                    customer_id: first,
                })
                .await?
                .into_inner();
            std::fs::write(&response, answer.encode_to_vec())?;
            std::fs::write(&ids, out.join("\n"))?;
            println!(
                "{}",
                serde_json::json!({"ids": out.len(), "response_bytes": answer.encoded_len()})
            );
        }
        Cmd::Unary {
            addr,
            ids,
            concurrency,
            connections,
            seconds,
            warmup,
            rate,
            h2,
        } => {
            let ids: Vec<String> = std::fs::read_to_string(&ids)?
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if ids.is_empty() {
                return Err("no ids".into());
            }
            let run = UnaryRun {
                concurrency,
                connections,
                seconds,
                warmup,
                rate,
                h2,
            };
            let r = unary(&addr, ids, run).await?;
            println!("{r}");
        }
        Cmd::Wait { addr, timeout } => {
            use tonic_health::pb::health_check_response::ServingStatus;
            use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
            let started = Instant::now();
            loop {
                if started.elapsed().as_secs_f64() > timeout {
                    return Err(format!("{addr}: not SERVING within {timeout} s").into());
                }
                let ok = match Endpoint::from_shared(format!("http://{addr}"))?
                    .connect()
                    .await
                {
                    Ok(ch) => HealthClient::new(ch)
                        .check(HealthCheckRequest {
                            service: "churn.v1.ChurnService".into(),
                        })
                        .await
                        .map(|r| r.into_inner().status == ServingStatus::Serving as i32)
                        .unwrap_or(false),
                    Err(_) => false,
                };
                if ok {
                    println!(
                        "{}",
                        serde_json::json!({"seconds": started.elapsed().as_secs_f64()})
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Cmd::Stream {
            addr,
            batch,
            decode,
            h2,
        } => {
            let mut grpc = tonic::client::Grpc::new(channel(&addr, h2).await?)
                .max_decoding_message_size(256 << 20);
            let started = Instant::now();
            grpc.ready().await?;
            let path = tonic::codegen::http::uri::PathAndQuery::from_static(
                "/churn.v1.ChurnService/ScoreCustomers",
            );
            let request = tonic::Request::new(pb::ScoreCustomersRequest {
                batch_size: batch,
                ..Default::default()
            });
            let mut s = grpc
                .server_streaming(request, path, BatchCodec(decode))
                .await?
                .into_inner();
            let (mut n, mut bytes, mut messages, mut psum) = (0usize, 0usize, 0usize, 0.0);
            let mut versions = BTreeSet::new();
            while let Some(m) = s.message().await? {
                n += m.customers;
                bytes += m.bytes;
                messages += 1;
                psum += m.probability_sum;
                if !versions.contains(&m.model_version) {
                    versions.insert(m.model_version);
                }
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({"customers": n, "seconds": secs, "messages": messages,
                    "decode": format!("{decode:?}").to_lowercase(),
                    "window_kb": h2.window_kb, "frame_kb": h2.frame_kb,
                    "megabytes": bytes as f64 / 1e6, "customers_per_second": n as f64 / secs,
                    "seconds_per_million": secs * 1e6 / n.max(1) as f64,
                    "mean_churn_probability": psum / n.max(1) as f64,
                    "model_versions": versions})
            );
        }
    }
    Ok(())
}
