'use strict'
// Serves a hypercore 9.12.0 feed on disk over TCP on 127.0.0.1, for the
// bench command's cli-clone row (interop/cmd/bench/cli.go), which times
// `hypercore clone` and bench/clone.js against it.
//
//   node bench/serve.js DIR BLOCKS SIZE
//
// Writes into DIR a feed with the key pair keyPair(32 zero bytes) and
// BLOCKS blocks of SIZE bytes (byte k of block n is (n + k) & 255),
// appended in calls of at most 1000 blocks and 1 MiB, then listens on a
// free port of 127.0.0.1 and replicates the feed, live and as responder
// (as `hypercore serve` does), to every connection until it is killed.
// Prints one line when it listens:
// {"event":"listening","port":P,"key":HEX,"length":N}.

const net = require('net')
const Hypercore = require('hypercore')
const crypto = require('hypercore-crypto')

const [dir, blocksArg, sizeArg] = process.argv.slice(2)
const blocks = Number(blocksArg)
const size = Number(sizeArg)
const kp = crypto.keyPair(Buffer.alloc(32))
const feed = new Hypercore(dir, kp.publicKey, { secretKey: kp.secretKey })
const fail = (err) => { console.error(err); process.exit(1) }
feed.on('error', fail)

function appendAll (cb) {
  const perCall = Math.min(1000, Math.max(1, Math.floor(1048576 / size)))
  const next = (err) => {
    if (err) return cb(err)
    if (feed.length >= blocks) return cb(null)
    const call = []
    for (let n = feed.length; call.length < perCall && n < blocks; n++) {
      const b = Buffer.alloc(size)
      for (let k = 0; k < size; k++) b[k] = (n + k) & 255
      call.push(b)
    }
    feed.append(call, next)
  }
  next()
}

feed.ready((err) => {
  if (err) fail(err)
  appendAll((err) => {
    if (err) fail(err)
    const server = net.createServer((socket) => {
      const stream = feed.replicate(false, { live: true })
      socket.on('error', () => {})
      stream.on('error', () => {})
      socket.pipe(stream).pipe(socket)
    })
    server.listen(0, '127.0.0.1', () => {
      const o = { event: 'listening', port: server.address().port, key: feed.key.toString('hex'), length: feed.length }
      process.stdout.write(JSON.stringify(o) + '\n')
    })
  })
})
