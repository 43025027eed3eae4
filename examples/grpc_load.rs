//! Load generator of the gRPC benchmark (benches/grpc/run.sh): a bounded tonic client.
//!
//!   grpc_load sample --addr A --ids ids.txt --response resp.bin [--n 100000]
//!       ids of the served customers (from ScoreCustomers) and one encoded ScoreCustomerResponse
//!       (for the echo server, so both servers answer with the same bytes)
//!   grpc_load unary --addr A --ids ids.txt [--concurrency 64] [--connections 4] [--seconds 10]
//!       ScoreCustomer with `concurrency` calls in flight; JSON: rps, latency percentiles,
//!       failures by status code, model versions seen (a hot reload shows two)
//!   grpc_load stream --addr A [--batch 5000]
//!       ScoreCustomers of every customer; JSON: customers, seconds
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
    },
    Stream {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 5_000)]
        batch: u32,
    },
    /// Polls grpc.health.v1 until churn.v1.ChurnService is SERVING; prints the seconds waited.
    Wait {
        #[arg(long)]
        addr: String,
        #[arg(long, default_value_t = 600.0)]
        timeout: f64,
    },
}

type Client = ChurnServiceClient<tonic::transport::Channel>;

async fn client(addr: &str) -> Result<Client, Box<dyn std::error::Error>> {
    let ch = Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    Ok(ChurnServiceClient::new(ch).max_decoding_message_size(256 << 20))
}

fn percentile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn unary(
    addr: &str,
    ids: Vec<String>,
    concurrency: usize,
    connections: usize,
    seconds: f64,
    warmup: f64,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut clients = Vec::new();
    for _ in 0..connections.max(1) {
        clients.push(client(addr).await?);
    }
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
            while !stop.load(Ordering::Relaxed) {
                i = i.wrapping_add(104_729);
                let id = ids[i % ids.len()].clone();
                let started = Instant::now();
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
            let mut c = client(&addr).await?;
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
        } => {
            let ids: Vec<String> = std::fs::read_to_string(&ids)?
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect();
            if ids.is_empty() {
                return Err("no ids".into());
            }
            let r = unary(&addr, ids, concurrency, connections, seconds, warmup).await?;
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
        Cmd::Stream { addr, batch } => {
            let mut c = client(&addr).await?;
            let started = Instant::now();
            let mut s = c
                .score_customers(pb::ScoreCustomersRequest {
                    batch_size: batch,
                    ..Default::default()
                })
                .await?
                .into_inner();
            let (mut n, mut bytes, mut messages) = (0usize, 0usize, 0usize);
            let mut versions = BTreeSet::new();
            while let Some(m) = s.message().await? {
                n += m.scores.len();
                bytes += m.encoded_len();
                messages += 1;
                versions.insert(m.model_version.clone());
            }
            let secs = started.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({"customers": n, "seconds": secs, "messages": messages,
                    "megabytes": bytes as f64 / 1e6, "customers_per_second": n as f64 / secs,
                    "model_versions": versions})
            );
        }
    }
    Ok(())
}
