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

const fs = require('fs')
const path = require('path')
const Hypercore = require('hypercore')
const { out, keyPair, tmpdir, pipe, connect, commands, main } = require('./lib/peer')

const isBytes = (enc) => !enc || enc === 'binary'

main(async () => {
  const [mode, kind, arg, a4] = process.argv.slice(2)
  const tmp = tmpdir('hypercore-go-ext11-')
  let core
  if (kind === 'writer') {
    core = new Hypercore(path.join(tmp, 'core'), { keyPair: keyPair(arg) })
  } else if (kind === 'clone') {
    core = new Hypercore(path.join(tmp, 'core'), Buffer.from(arg, 'hex'))
  } else {
    throw new Error('unknown kind ' + kind)
  }
  await core.ready()
  core.on('peer-add', () => out({ event: 'peer', peers: core.peers.length }))

  const replicate = (socket, initiator) => pipe(socket, core.replicate(initiator))
  const server = await connect(mode, a4, replicate, () => out({ event: 'core', key: core.key.toString('hex') }))

  const exts = new Map()
  commands((cmd) => run(core, exts, cmd), async (queue) => {
    await queue
    if (server) server.close()
    await core.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  })
})

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
