'use strict'
// What the JS Hypercore 11 peers (peers/core.js, follow.js, many.js,
// extension.js) share: JSON-lines output, a writer's key pair from a seed, a
// scratch directory, a replication stream piped over a TCP socket on
// 127.0.0.1 (listening or dialling), and the stdin command loop.

const net = require('net')
const os = require('os')
const fs = require('fs')
const path = require('path')
const sodium = require('sodium-universal')

// out writes one JSON object as a line to stdout.
function out (o) { process.stdout.write(JSON.stringify(o) + '\n') }

// keyPair is the Ed25519 key pair of a 32-byte seed (a Buffer or hex).
function keyPair (seed) {
  const publicKey = Buffer.alloc(32)
  const secretKey = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.isBuffer(seed) ? seed : Buffer.from(seed, 'hex'))
  return { publicKey, secretKey }
}

// tmpdir makes a fresh scratch directory whose name starts with prefix.
function tmpdir (prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

// pipe runs the replication stream s over socket and prints
// {"event":"closed","error":MESSAGE|null} when s closes: the stream's
// error if it had one, else the socket's.
function pipe (socket, s) {
  let why = null
  s.on('error', (err) => { why = err.code || err.message })
  s.on('close', () => out({ event: 'closed', error: why }))
  socket.on('error', (err) => { why = why || err.code || err.message })
  socket.pipe(s).pipe(socket)
}

// connect listens on 127.0.0.1 (mode "listen": prints
// {"event":"listening","port":P}, then calls replicate(socket, false) for
// each connection) or dials port (mode "dial": replicate(socket, true)).
// announce runs between the two, so the test reads the peer's identity
// before it connects. It returns the server, or null when dialling.
async function connect (mode, port, replicate, announce) {
  let server = null
  if (mode === 'listen') {
    server = net.createServer((socket) => replicate(socket, false))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    out({ event: 'listening', port: server.address().port })
  }
  announce()
  if (mode === 'dial') replicate(net.connect(Number(port), '127.0.0.1'), true)
  return server
}

// commands runs run(cmd) for each JSON line on stdin, one after another; a
// failed command prints {"event":"error","command":...,"error":MESSAGE}.
// When stdin closes it awaits end(queue) (queue: the commands still
// running) and exits 0.
function commands (run, end) {
  let queue = Promise.resolve()
  let pending = ''
  process.stdin.on('data', (d) => {
    pending += d
    let nl
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      if (!line.trim()) continue
      const cmd = JSON.parse(line)
      queue = queue.then(() => run(cmd)).catch((err) => out({ event: 'error', command: cmd, error: err.message }))
    }
  })
  process.stdin.on('end', async () => {
    await end(queue)
    process.exit(0)
  })
}

// main runs fn, printing its error and exiting 1 if it fails.
function main (fn) {
  fn().catch((err) => {
    console.error(err)
    process.exit(1)
  })
}

module.exports = { out, keyPair, tmpdir, pipe, connect, commands, main }
