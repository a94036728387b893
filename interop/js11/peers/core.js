'use strict'
// A JS Hypercore 11 peer for the interop tests: a writer core (default
// manifest, key pair from a seed) with some blocks, or a clone of a key,
// replicating over TCP on 127.0.0.1.
//
//   node peers/core.js listen  writer SEEDHEX BLOCKS
//   node peers/core.js dial    writer SEEDHEX BLOCKS PORT
//   node peers/core.js listen  clone  KEYHEX
//   node peers/core.js dial    clone  KEYHEX PORT
//
// BLOCKS is the number of blocks the writer appends ("block 0", "block 1",
// ...). The peer writes one JSON object per line to stdout:
//
//   {"event":"listening","port":P}            (listen) the port to dial
//   {"event":"core","key":HEX,"discoveryKey":HEX,"length":N}
//                                             the core, before it connects
//   {"event":"connection","initiator":BOOL}
//   {"event":"closed","error":MESSAGE|null}   the connection ended (and why)
//   {"event":"length","length":N}             a clone's length changed
//
// Commands, one JSON object per line on stdin, run in order:
//
//   {"get":I}                 -> {"event":"got","index":I,"value":HEX}
//   {"download":[S,E]}        -> {"event":"downloaded","start":S,"end":E}
//   {"update":true}           -> {"event":"updated","length":N}  (waits for a peer)
//   {"append":[STR,...]}      -> {"event":"appended","length":N} (writer)
//   {"has":I}                 -> {"event":"has","index":I,"has":BOOL}
//   {"stored":[S,E]}          -> {"event":"stored","indices":[I,...]}
//                                the blocks of [S, E) stored here
//   {"digest":[S,E]}          -> {"event":"digest","sha256":HEX}
//                                SHA-256 of blocks S..E-1 concatenated
//
// A failed command prints {"event":"error","command":...,"error":MESSAGE}.
// It exits when stdin closes. The connection uses the stream Hypercore's
// replicate() makes (secret-stream with keep-alive, protomux), so the Go side
// meets exactly what the network meets.

const fs = require('fs')
const path = require('path')
const Hypercore = require('hypercore')
const { out, keyPair, tmpdir, pipe, connect, commands, main } = require('./lib/peer')

main(async () => {
  const [mode, kind, arg, a4, a5] = process.argv.slice(2)
  const tmp = tmpdir('hypercore-go-peer11-')
  let core
  if (kind === 'writer') {
    core = new Hypercore(path.join(tmp, 'core'), { keyPair: keyPair(arg) })
    await core.ready()
    const n = Number(a4)
    const blocks = []
    for (let i = 0; i < n; i++) blocks.push(Buffer.from('block ' + i))
    if (blocks.length) await core.append(blocks)
  } else if (kind === 'clone') {
    core = new Hypercore(path.join(tmp, 'core'), Buffer.from(arg, 'hex'))
    await core.ready()
    core.on('append', () => out({ event: 'length', length: core.length }))
  } else {
    throw new Error('unknown kind ' + kind)
  }

  const replicate = (socket, initiator) => {
    out({ event: 'connection', initiator })
    pipe(socket, core.replicate(initiator))
  }
  const server = await connect(mode, kind === 'writer' ? a5 : a4, replicate, () => out({
    event: 'core', key: core.key.toString('hex'), discoveryKey: core.discoveryKey.toString('hex'), length: core.length
  }))

  // The end of stdin ends the peer: commands still waiting are abandoned,
  // and the core's directory is removed even if closing it hangs (the test
  // kills the peer a few seconds later).
  commands((cmd) => run(core, cmd), async () => {
    if (server) server.close()
    await Promise.race([core.close().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 1500))])
    fs.rmSync(tmp, { recursive: true, force: true })
  })
})

async function run (core, cmd) {
  if (cmd.get !== undefined) {
    const value = await core.get(cmd.get, { timeout: 30000 })
    out({ event: 'got', index: cmd.get, value: value.toString('hex') })
  } else if (cmd.download) {
    await core.download({ start: cmd.download[0], end: cmd.download[1] }).done()
    out({ event: 'downloaded', start: cmd.download[0], end: cmd.download[1] })
  } else if (cmd.update) {
    await core.update({ wait: true })
    out({ event: 'updated', length: core.length })
  } else if (cmd.append) {
    await core.append(cmd.append.map((x) => Buffer.from(x)))
    out({ event: 'appended', length: core.length })
  } else if (cmd.has !== undefined) {
    out({ event: 'has', index: cmd.has, has: await core.has(cmd.has) })
  } else if (cmd.stored) {
    const indices = []
    for (let i = cmd.stored[0]; i < cmd.stored[1]; i++) if (await core.has(i)) indices.push(i)
    out({ event: 'stored', indices })
  } else if (cmd.digest) {
    const h = require('crypto').createHash('sha256')
    for (let i = cmd.digest[0]; i < cmd.digest[1]; i++) h.update(await core.get(i, { wait: false }))
    out({ event: 'digest', sha256: h.digest('hex') })
  } else {
    throw new Error('unknown command')
  }
}
