'use strict'
// Times a full clone over TCP loopback with hypercore 9.12.0, for
// interop/bench-replicate (the Go side is interop/cmd/replbench).
//
//   node bench/replicate.js BLOCKS SIZE [DIR]
//
// One process holds a writer with BLOCKS blocks of SIZE bytes (appended in
// calls of at most 1000 blocks and 1 MiB before the clock starts, so that
// the data is never held at once) and a reader that is not sparse, both in
// memory, or with DIR in DIR/writer and DIR/reader on disk. The reader dials
// the writer on 127.0.0.1 and the clock runs until the reader's stream
// closes with every block stored. Prints
// {"impl":"js","blocks":N,"size":S,"seconds":T,"cpu_seconds":C,"maxrss_kb":K,"setup_maxrss_kb":L}
// as interop/cmd/replbench does: cpu_seconds is the CPU time (user and
// system) while the clock ran, maxrss_kb the process's peak resident set
// and setup_maxrss_kb the peak before the clock started.
//
// Stopped by SIGTERM (the bench's time limit), it prints what it got so far,
// {"impl":"js","blocks":N,"size":S,"partial":true,"downloaded":D,"seconds":T},
// T null when the clock had not started, and exits 3.

const net = require('net')
const Hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')

const [blocksArg, sizeArg, dir] = process.argv.slice(2)
const storageOf = (name) => dir ? require('path').join(dir, name) : ram
const blocks = Number(blocksArg)
const size = Number(sizeArg)
const kp = crypto.keyPair(Buffer.alloc(32))
const w = new Hypercore(storageOf('writer'), kp.publicKey, { secretKey: kp.secretKey })
let r = null
let start = null

process.on('SIGTERM', () => {
  const downloaded = r && r.length ? r.downloaded(0, r.length) : 0
  const seconds = start === null ? null : Number(process.hrtime.bigint() - start) / 1e9
  process.stdout.write(JSON.stringify({ impl: 'js', blocks, size, partial: true, downloaded, seconds }) + '\n')
  process.exit(3)
})

function appendAll (cb) {
  let n = 0
  const next = (err) => {
    if (err) return cb(err)
    if (n >= blocks) return cb(null)
    const call = []
    for (; call.length < Math.min(1000, Math.max(1, Math.floor(1048576 / size))) && n < blocks; n++) {
      const b = Buffer.alloc(size)
      for (let k = 0; k < size; k++) b[k] = (n + k) & 255
      call.push(b)
    }
    w.append(call, next)
  }
  next()
}

w.ready((err) => {
  if (err) throw err
  appendAll((err) => {
    if (err) throw err
    r = new Hypercore(storageOf('reader'), w.key)
    r.ready((err) => {
      if (err) throw err
      const server = net.createServer((socket) => {
        const s = w.replicate(false)
        socket.on('error', () => {})
        socket.pipe(s).pipe(socket)
      })
      server.listen(0, '127.0.0.1', () => {
        const setupRSS = process.resourceUsage().maxRSS
        const cpu0 = process.cpuUsage()
        start = process.hrtime.bigint()
        const socket = net.connect(server.address().port, '127.0.0.1')
        const s = r.replicate(true)
        socket.on('error', () => {})
        socket.pipe(s).pipe(socket)
        s.on('error', (err) => { throw err })
        s.on('close', () => {
          const seconds = Number(process.hrtime.bigint() - start) / 1e9
          const cpu = process.cpuUsage(cpu0)
          const got = r.downloaded(0, r.length)
          if (got !== blocks) throw new Error('the reader holds ' + got + ' of ' + blocks + ' blocks')
          const maxrss = process.resourceUsage().maxRSS
          const cpuSeconds = (cpu.user + cpu.system) / 1e6
          process.stdout.write(JSON.stringify({ impl: 'js', blocks, size, seconds, cpu_seconds: cpuSeconds, maxrss_kb: maxrss, setup_maxrss_kb: setupRSS }) + '\n')
          process.exit(0)
        })
      })
    })
  })
})
