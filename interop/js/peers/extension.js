'use strict'
// A JS hypercore 9.12.0 feed with registered extensions, replicating live
// over TCP on 127.0.0.1, for the extension interop tests. Prints JSON
// lines on stdout; reads JSON commands on stdin.
//
//   node peers/extension.js ROLE ADDR PARAMS
//
// ROLE: initiator | responder. ADDR: "listen" (prints {"event":"listening",
// "port":N}) or a port to dial. PARAMS (JSON): {seed (writer; hex) | key
// (reader; hex), names: [extension names, registered before connecting,
// all with encoding "utf-8"]}.
// Commands (stdin, one JSON per line): {"cmd":"register","name":N},
// {"cmd":"send","name":N,"message":S} (to the one peer),
// {"cmd":"broadcast","name":N,"message":S}.
// Events: listening, ready {key, names}, peer-open, options {extensions
// (the peer's names), ack}, message {name, message}, sent {name,
// broadcasted}, registered {name, names}, error.

const net = require('net')
const readline = require('readline')
const Hypercore = require('hypercore')
const ram = require('random-access-memory')
const crypto = require('hypercore-crypto')

const [role, addr, paramsJSON] = process.argv.slice(2)
const params = JSON.parse(paramsJSON)
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n')
const fail = (err) => { out({ event: 'error', message: err.message }); process.exit(1) }

let feed
if (params.seed) {
  const kp = crypto.keyPair(Buffer.from(params.seed, 'hex'))
  feed = new Hypercore(ram, kp.publicKey, { secretKey: kp.secretKey })
} else {
  feed = new Hypercore(ram, Buffer.from(params.key, 'hex'))
}
feed.on('error', fail)

const exts = {}
function register (name) {
  exts[name] = feed.registerExtension(name, {
    encoding: 'utf-8',
    onmessage (message, peer) { out({ event: 'message', name, message }) },
    onerror (err) { out({ event: 'message-error', name, message: err.message }) }
  })
}
for (const name of params.names || []) register(name)

let peer = null
feed.on('peer-add', (p) => {
  // record every Options the peer sends
  const onoptions = p.onoptions
  p.onoptions = function (options) {
    out({ event: 'options', extensions: options.extensions, ack: options.ack })
    return onoptions.call(this, options)
  }
})
feed.on('peer-open', (p) => {
  peer = p
  out({ event: 'peer-open' })
})

function connect (socket) {
  const stream = feed.replicate(role === 'initiator', { live: true })
  socket.on('error', () => {})
  stream.on('error', (err) => out({ event: 'stream-error', message: err.message }))
  socket.pipe(stream).pipe(socket)
}

feed.ready((err) => {
  if (err) return fail(err)
  out({ event: 'ready', key: feed.key.toString('hex'), names: feed.extensions.names() })
  if (addr === 'listen') {
    const server = net.createServer((socket) => connect(socket))
    server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }))
  } else {
    connect(net.connect(Number(addr), '127.0.0.1'))
  }
})

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line)
  if (c.cmd === 'register') {
    register(c.name)
    out({ event: 'registered', name: c.name, names: feed.extensions.names() })
  } else if (c.cmd === 'send') {
    exts[c.name].send(c.message, peer)
    out({ event: 'sent', name: c.name })
  } else if (c.cmd === 'broadcast') {
    const broadcasted = exts[c.name].broadcast(c.message)
    out({ event: 'sent', name: c.name, broadcasted })
  }
})
process.stdin.on('end', () => process.exit(0))
