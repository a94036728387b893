'use strict'
// Times a full clone over TCP loopback with hypercore 11.37.1, for the v11
// rows of interop/cmd/bench (the Go side is the bench command's own
// "-v11-clone" child, interop/cmd/bench/v11.go).
//
//   node bench/replicate.js BLOCKS SIZE DIR
//
// One process holds a writer (a default core: manifest v1, one Ed25519
// signer, the key pair from a zero seed) with BLOCKS blocks of SIZE bytes,
// appended in calls of at most 1000 blocks and 1 MiB before the clock
// starts, in DIR/writer, and a clone of its key in DIR/reader (both on disk:
// Hypercore 11's own storage, RocksDB). The reader dials the writer on
// 127.0.0.1; the clock runs from the dial until the reader holds every
// block: update({ wait: true }) for the length, then download of [0, length)
// and its done(). Prints one JSON line:
//
//   {"impl":"js11","blocks":N,"size":S,"seconds":T,"cpu_seconds":C,"maxrss_kb":K}
//
// where cpu_seconds is the CPU time (user and system) the process used
// while the clock ran (process.cpuUsage()) and maxrss_kb its peak resident
// set (getrusage, through process.resourceUsage()).
//
// A run that stops (the replication stream closes before the clone is done,
// or no block arrives for 60 s) prints why to stderr and exits 1; the bench
// runs it once more. (One run in about ten hung so on a machine with a load
// average of 12; none did on a quiet one.)

const net = require('net')
const path = require('path')
const sodium = require('sodium-universal')
const Hypercore = require('hypercore')

async function main () {
  const [blocksArg, sizeArg, dir] = process.argv.slice(2)
  const blocks = Number(blocksArg)
  const size = Number(sizeArg)
  if (!(blocks >= 1) || !(size >= 1) || !dir) throw new Error('usage: replicate.js BLOCKS SIZE DIR')

  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.alloc(32))
  const w = new Hypercore(path.join(dir, 'writer'), { keyPair: { publicKey, secretKey } })
  await w.ready()
  for (let n = 0; n < blocks;) {
    const call = []
    for (; call.length < Math.min(1000, Math.max(1, Math.floor(1048576 / size))) && n < blocks; n++) {
      const b = Buffer.alloc(size)
      for (let k = 0; k < size; k++) b[k] = (n + k) & 255
      call.push(b)
    }
    await w.append(call)
  }

  const r = new Hypercore(path.join(dir, 'reader'), w.key)
  await r.ready()
  const server = net.createServer((socket) => {
    const s = w.replicate(false)
    socket.on('error', () => {})
    s.on('error', () => {})
    socket.pipe(s).pipe(socket)
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))

  const cpu0 = process.cpuUsage()
  const start = process.hrtime.bigint()
  const socket = net.connect(server.address().port, '127.0.0.1')
  const s = r.replicate(true)
  socket.on('error', () => {})
  let why = null
  s.on('error', (err) => { why = why || err.code || err.message })

  // A run that stops making progress fails (with what it got) rather than
  // hanging the bench: the stream closing before the clone is done, or no
  // block for STALL_MS.
  let got = 0
  let last = Date.now()
  r.on('download', () => { got++; last = Date.now() })
  let finished = false
  const fail = (msg) => {
    if (finished) return
    console.error('bench/replicate.js: ' + msg + ' after ' + got + ' of ' + blocks + ' blocks (length ' + r.length + ')')
    process.exit(1)
  }
  s.on('close', () => fail('the replication stream closed (' + (why || 'no error') + ')'))
  const STALL_MS = 60000
  const watchdog = setInterval(() => { if (Date.now() - last > STALL_MS) fail('no block for ' + STALL_MS + ' ms') }, 1000)
  socket.pipe(s).pipe(socket)

  await r.update({ wait: true })
  await r.download({ start: 0, end: r.length }).done()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  finished = true
  clearInterval(watchdog)
  const cpu = process.cpuUsage(cpu0)
  const cpuSeconds = (cpu.user + cpu.system) / 1e6

  if (r.length !== blocks || r.contiguousLength !== blocks) {
    throw new Error('the reader holds ' + r.contiguousLength + ' of ' + blocks + ' blocks (length ' + r.length + ')')
  }
  const maxrss = process.resourceUsage().maxRSS
  process.stdout.write(JSON.stringify({ impl: 'js11', blocks, size, seconds, cpu_seconds: cpuSeconds, maxrss_kb: maxrss }) + '\n')
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
