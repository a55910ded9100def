// BullMQ 6.7 on the same machine and Redis as comfyq's Redis benchmarks: end-to-end jobs per
// second (add + process + complete, no-op processor, concurrency 50, completed jobs kept up to
// 1,000 as comfyq keeps 1,000 finished jobs), Redis CPU per job, and the latency from add() to
// an idle worker's processor starting the job.
//   node bullmq_baseline.mjs <redis port> [seconds]     (bench/baselines/run starts the Redis)
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';

const port = Number(process.argv[2]);
const seconds = Number(process.argv[3] ?? 10);
const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
const admin = new IORedis(connection);

async function redisCpuUs() {
  const info = await admin.info('cpu');
  const read = (name) => Number(new RegExp(name + ':([\\d.]+)').exec(info)[1]);
  return (read('used_cpu_user') + read('used_cpu_sys')) * 1e6;
}
async function reads() {
  const info = await admin.info('stats');
  return Number(/total_reads_processed:(\d+)/.exec(info)[1]);
}

async function throughput() {
  await admin.flushall();
  const queue = new Queue('bench', { connection, defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 1000 } });
  let completed = 0;
  const worker = new Worker('bench', async () => {}, { connection, concurrency: 50, autorun: false });
  worker.on('completed', () => { ++completed; });
  // Producer: 50 concurrent add() loops keep a backlog of jobs waiting.
  let producing = true;
  let added = 0;
  const producer = async () => {
    while (producing) {
      if (added - completed > 2000) { await new Promise((r) => setTimeout(r, 1)); continue; }
      ++added;
      await queue.add('job', { n: added });
    }
  };
  const producers = Array.from({ length: 50 }, producer);
  worker.run();
  await new Promise((r) => setTimeout(r, 2000));  // warm up
  const start = process.hrtime.bigint();
  const done0 = completed, cpu0 = await redisCpuUs(), reads0 = await reads();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  const jobs = completed - done0;
  const cpu = (await redisCpuUs()) - cpu0, trips = (await reads()) - reads0;
  producing = false;
  await Promise.all(producers);
  await worker.close();
  await queue.close();
  console.log(`end_to_end: ${(jobs / elapsed).toFixed(0)} jobs/s, redis_cpu_us ${(cpu / jobs).toFixed(1)}, ` +
              `round_trips ${(trips / jobs).toFixed(2)} per job (${jobs} jobs in ${elapsed.toFixed(1)} s)`);
}

async function latency(samples = 500) {
  await admin.flushall();
  const queue = new Queue('latency', { connection, defaultJobOptions: { removeOnComplete: 1000 } });
  let resolveStarted;
  const worker = new Worker('latency', async () => { resolveStarted(process.hrtime.bigint()); }, { connection, concurrency: 1 });
  await worker.waitUntilReady();
  await new Promise((r) => setTimeout(r, 500));
  const us = [];
  for (let i = 0; i < samples; ++i) {
    const started = new Promise((r) => { resolveStarted = r; });
    await new Promise((r) => setTimeout(r, 2));  // the worker is blocked waiting again
    const t0 = process.hrtime.bigint();
    queue.add('job', { i });
    us.push(Number((await started) - t0) / 1e3);
  }
  await worker.close();
  await queue.close();
  us.sort((a, b) => a - b);
  const at = (p) => us[Math.min(us.length - 1, Math.ceil(p * us.length) - 1)];
  console.log(`add_to_processor: p50 ${at(0.5).toFixed(0)} us, p90 ${at(0.9).toFixed(0)} us, p99 ${at(0.99).toFixed(0)} us, max ${us[us.length - 1].toFixed(0)} us`);
}

await throughput();
await latency();
admin.disconnect();
