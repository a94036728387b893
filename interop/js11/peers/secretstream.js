'use strict'
// A JS @hyperswarm/secret-stream peer for interop/secretstream11_test.go: a
// NoiseSecretStream over a TCP socket on 127.0.0.1 that echoes what it
// receives.
//
//   node peers/secretstream.js ROLE ADDR KEEPALIVE_MS TIMEOUT_MS
//
// ROLE is initiator or responder; ADDR is "listen" (print the port, accept
// one connection) or a port to dial. KEEPALIVE_MS is the stream's keepAlive
// (an empty message after that long without writing; received empty
// messages are then dropped); TIMEOUT_MS, if not 0, is its setTimeout (the
// stream is destroyed after that long without receiving a byte).
//
// Once the handshake is done the peer writes "hello from js". Every message
// it receives is written back unchanged, except these commands:
//
//   cmd:stats   answer with JSON {rawBytesRead, received}: the bytes of the
//               messages read so far (secret-stream's rawBytesRead, which
//               counts keep-alives too) and the number of messages delivered
//   cmd:end     end the stream (the Go side then reads EOF)
//
// It prints one JSON object per line:
//
//   {"event":"listening","port":P}
//   {"event":"handshake","handshakeHash":HEX,"publicKey":HEX,"remotePublicKey":HEX}
//   {"event":"ending"}                        after cmd:end
//   {"event":"end"}                           the remote ended its side
//   {"event":"error","message":M}             the stream was destroyed with an error
//   {"event":"close"}                         the stream closed; the peer exits 0

const net = require('net')
const NoiseSecretStream = require('@hyperswarm/secret-stream')

function out (o) { process.stdout.write(JSON.stringify(o) + '\n') }
function hex (b) { return b ? Buffer.from(b).toString('hex') : null }

const [role, addr, keepAlive, timeout] = process.argv.slice(2)
if (role !== 'initiator' && role !== 'responder') throw new Error('usage: secretstream.js initiator|responder listen|PORT KEEPALIVE_MS TIMEOUT_MS')

const guard = setTimeout(() => {
  out({ event: 'error', message: 'peer gave up after 60 s' })
  process.exit(2)
}, 60000)

function run (socket) {
  const s = new NoiseSecretStream(role === 'initiator', socket, { keepAlive: Number(keepAlive) })
  if (Number(timeout) > 0) s.setTimeout(Number(timeout))
  let received = 0
  s.on('connect', () => {
    out({ event: 'handshake', handshakeHash: hex(s.handshakeHash), publicKey: hex(s.publicKey), remotePublicKey: hex(s.remotePublicKey) })
    s.write(Buffer.from('hello from js'))
  })
  s.on('data', (d) => {
    received++
    const text = d.byteLength < 64 ? d.toString() : ''
    if (text === 'cmd:stats') {
      s.write(Buffer.from(JSON.stringify({ rawBytesRead: s.rawBytesRead, received })))
      return
    }
    if (text === 'cmd:end') {
      out({ event: 'ending' })
      s.end()
      return
    }
    s.write(d)
  })
  s.on('end', () => out({ event: 'end' }))
  s.on('error', (err) => out({ event: 'error', message: err.message }))
  s.on('close', () => {
    out({ event: 'close' })
    clearTimeout(guard)
    process.exit(0)
  })
}

if (addr === 'listen') {
  const server = net.createServer((socket) => {
    server.close()
    run(socket)
  })
  server.listen(0, '127.0.0.1', () => out({ event: 'listening', port: server.address().port }))
} else {
  run(net.connect(Number(addr), '127.0.0.1'))
}
