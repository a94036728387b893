'use strict'
// A JS hypercore 9.12.0 feed replicating over TCP on 127.0.0.1 that turns
// its upload or download switch off and on (feed.setUploading,
// feed.setDownloading), for the switch interop tests (issue 15 item 4).
// Prints JSON lines on stdout.
//
//   node peers/switches.js ROLE ADDR SIDE PARAMS
//
// ROLE: initiator | responder. ADDR: "listen" (prints {"event":"listening",
// "port":N}) or a port to dial. SIDE: writer | reader. PARAMS (JSON):
//   writer: {seed, blocks: N, live, uploadOffMs: M (when the first peer
//            opens: setUploading(false), then setUploading(true) M ms later)}
//   reader: {key, live, downloadOffMs: M (setDownloading(false) before
//            replicating, setDownloading(true) M ms after the peer opens)}
// Events: listening, ready {key, length}, peer-open, upload-off, upload-on,
// download-off, download-on, status {uploading, downloading} (a Status the
// peer sent), download {index}, done {length, downloaded, blocks: [hex]},
// error.

const net = require('net')
const Hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')

const [role, addr, side, paramsJSON] = process.argv.slice(2)
const params = JSON.parse(paramsJSON)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (err) => { out({ event: 'error', message: err.message }); process.exit(1) }

let feed
if (side === 'writer') {
  const kp = crypto.keyPair(Buffer.from(params.seed, 'hex'))
  feed = new Hypercore(ram, kp.publicKey, { secretKey: kp.secretKey })
} else {
  feed = new Hypercore(ram, Buffer.from(params.key, 'hex'))
}
feed.on('error', fail)
feed.on('download', (index) => out({ event: 'download', index }))
feed.on('peer-add', (peer) => {
  // Peer.onstatus is the channel's handler for Status messages
  const onstatus = peer.onstatus
  peer.onstatus = function (info) {
    out({ event: 'status', uploading: info.uploading, downloading: info.downloading })
    return onstatus.call(this, info)
  }
})

let opened = false
feed.on('peer-open', () => {
  out({ event: 'peer-open' })
  if (opened) return
  opened = true
  if (side === 'writer' && params.uploadOffMs) {
    feed.setUploading(false)
    out({ event: 'upload-off' })
    setTimeout(() => { feed.setUploading(true); out({ event: 'upload-on' }) }, params.uploadOffMs)
  }
  if (side === 'reader' && params.downloadOffMs) {
    setTimeout(() => { feed.setDownloading(true); out({ event: 'download-on' }) }, params.downloadOffMs)
  }
})

function block (i) { return Buffer.from('block ' + i) }

function start () {
  if (addr === 'listen') {
    const server = net.createServer((socket) => connect(socket))
    server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }))
  } else {
    connect(net.connect(Number(addr), '127.0.0.1'))
  }
}

function connect (socket) {
  const stream = feed.replicate(role === 'initiator', { live: !!params.live })
  socket.on('error', () => {})
  stream.on('error', (err) => out({ event: 'stream-error', message: err.message }))
  socket.pipe(stream).pipe(socket)
  stream.on('close', () => {
    out({ event: 'stream-closed' })
    if (side === 'reader' && !params.live) report()
  })
}

let reported = false
function report () {
  if (reported) return
  reported = true
  const res = { event: 'done', length: feed.length, downloaded: feed.downloaded(0, feed.length), blocks: [] }
  let i = 0
  const next = () => {
    if (i === feed.length) { out(res); setTimeout(() => process.exit(0), 50); return }
    const idx = i++
    if (!feed.has(idx)) { res.blocks.push(null); return next() }
    feed.get(idx, { wait: false }, (err, v) => {
      if (err) return fail(err)
      res.blocks.push(v.toString('hex'))
      next()
    })
  }
  next()
}

feed.ready((err) => {
  if (err) return fail(err)
  if (side === 'writer') {
    const bs = []
    for (let i = 0; i < (params.blocks || 0); i++) bs.push(block(i))
    feed.append(bs, (err) => {
      if (err) return fail(err)
      out({ event: 'ready', key: feed.key.toString('hex'), length: feed.length })
      start()
    })
    return
  }
  if (params.downloadOffMs) {
    feed.setDownloading(false)
    out({ event: 'download-off' })
  }
  out({ event: 'ready', key: feed.key.toString('hex'), length: feed.length })
  start()
  if (params.live) {
    // a live reader reports once it holds every block of a non-empty feed
    const poll = () => feed.length > 0 && feed.downloaded(0, feed.length) === feed.length ? report() : setTimeout(poll, 10)
    poll()
  }
})
