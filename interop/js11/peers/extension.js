'use strict'
// A JS Hypercore 11 peer for the extension interop tests: a writer core
// (default manifest, key pair from a seed, no blocks) or a clone of a key,
// replicating over TCP on 127.0.0.1, whose extensions (core.registerExtension)
// the test drives.
//
//   node peers/extension.js listen writer SEEDHEX
//   node peers/extension.js dial   writer SEEDHEX PORT
//   node peers/extension.js listen clone  KEYHEX
//   node peers/extension.js dial   clone  KEYHEX PORT
//
// Events, one JSON object per line on stdout:
//
//   {"event":"listening","port":P}            (listen) the port to dial
//   {"event":"core","key":HEX}                the core, before it connects
//   {"event":"peer","peers":N}                a peer was added
//   {"event":"closed","error":MESSAGE|null}   the connection ended
//   {"event":"message","name":NAME,"value":V,"from":HEX}
//       an extension's onmessage: V is the decoded message, hex for a
//       buffer or binary encoding, the string for utf-8, the value for
//       json; from is the peer's remote public key
//
// Commands, one JSON object per line on stdin, run in order:
//
//   {"register":NAME,"encoding":ENC,"echo":BOOL}
//       registers NAME (ENC: omitted for JS's default c.buffer, or a
//       compact-encoding name: "binary", "utf-8", "json"); with echo, each
//       message received is sent back to its peer with ext.send
//       -> {"event":"registered","name":NAME}
//   {"send":NAME,"message":M}       ext.send(M, the first peer)
//   {"broadcast":NAME,"message":M}  ext.broadcast(M)
//       M is hex for buffer and binary encodings, else the value itself;
//       both wait for a peer -> {"event":"sent","name":NAME}
//   {"destroy":NAME}                ext.destroy() -> {"event":"destroyed"}
//
// A failed command prints {"event":"error","command":...,"error":MESSAGE}.
// It exits when stdin closes.

const net = require('net')
const os = require('os')
const fs = require('fs')
const path = require('path')
const sodium = require('sodium-universal')
const Hypercore = require('hypercore')

function out (o) { process.stdout.write(JSON.stringify(o) + '\n') }

const isBytes = (enc) => !enc || enc === 'binary'

async function main () {
  const [mode, kind, arg, a4] = process.argv.slice(2)
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hypercore-go-ext11-'))
  let core
  if (kind === 'writer') {
    const publicKey = Buffer.alloc(32)
    const secretKey = Buffer.alloc(64)
    sodium.crypto_sign_seed_keypair(publicKey, secretKey, Buffer.from(arg, 'hex'))
    core = new Hypercore(path.join(tmp, 'core'), { keyPair: { publicKey, secretKey } })
  } else if (kind === 'clone') {
    core = new Hypercore(path.join(tmp, 'core'), Buffer.from(arg, 'hex'))
  } else {
    throw new Error('unknown kind ' + kind)
  }
  await core.ready()
  core.on('peer-add', () => out({ event: 'peer', peers: core.peers.length }))

  const replicate = (socket, initiator) => {
    const s = core.replicate(initiator)
    let why = null
    s.on('error', (err) => { why = err.code || err.message })
    s.on('close', () => out({ event: 'closed', error: why }))
    socket.on('error', (err) => { why = why || err.code || err.message })
    socket.pipe(s).pipe(socket)
  }

  let server = null
  if (mode === 'listen') {
    server = net.createServer((socket) => replicate(socket, false))
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    out({ event: 'listening', port: server.address().port })
  }
  out({ event: 'core', key: core.key.toString('hex') })
  if (mode === 'dial') replicate(net.connect(Number(a4), '127.0.0.1'), true)

  const exts = new Map()
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
      queue = queue.then(() => run(core, exts, cmd)).catch((err) => out({ event: 'error', command: cmd, error: err.message }))
    }
  })
  process.stdin.on('end', async () => {
    await queue
    if (server) server.close()
    await core.close()
    fs.rmSync(tmp, { recursive: true, force: true })
    process.exit(0)
  })
}

async function firstPeer (core) {
  for (let i = 0; i < 3000 && core.peers.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  if (core.peers.length === 0) throw new Error('no peer')
  return core.peers[0]
}

async function run (core, exts, cmd) {
  if (cmd.register !== undefined) {
    const name = cmd.register
    const enc = cmd.encoding
    const ext = core.registerExtension(name, {
      encoding: enc,
      onmessage (m, peer) {
        out({
          event: 'message',
          name,
          value: isBytes(enc) ? Buffer.from(m).toString('hex') : m,
          from: peer.remotePublicKey.toString('hex')
        })
        if (cmd.echo) ext.send(m, peer)
      }
    })
    exts.set(name, { ext, enc })
    out({ event: 'registered', name })
  } else if (cmd.send !== undefined || cmd.broadcast !== undefined) {
    const name = cmd.send !== undefined ? cmd.send : cmd.broadcast
    const { ext, enc } = exts.get(name)
    const m = isBytes(enc) ? Buffer.from(cmd.message, 'hex') : cmd.message
    const peer = await firstPeer(core)
    if (cmd.send !== undefined) ext.send(m, peer)
    else ext.broadcast(m)
    out({ event: 'sent', name })
  } else if (cmd.destroy !== undefined) {
    exts.get(cmd.destroy).ext.destroy()
    exts.delete(cmd.destroy)
    out({ event: 'destroyed', name: cmd.destroy })
  } else {
    throw new Error('unknown command')
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
