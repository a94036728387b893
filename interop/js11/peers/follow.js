'use strict'
// A JS Hypercore 11 peer for the truncation interop tests: a writer core
// (default manifest, key pair from a seed) that truncates and appends, or a
// clone that follows it, replicating over TCP on 127.0.0.1. A listening
// peer accepts any number of connections.
//
//   node peers/follow.js listen writer SEEDHEX BLOCKS
//   node peers/follow.js dial   writer SEEDHEX BLOCKS PORT
//   node peers/follow.js listen clone  KEYHEX
//   node peers/follow.js dial   clone  KEYHEX PORT
//
// BLOCKS is the number of blocks the writer appends ("block 0", ...).
// Events, one JSON object per line on stdout:
//
//   {"event":"listening","port":P}            (listen) the port to dial
//   {"event":"core","key":HEX,"length":N}     the core, before it connects
//   {"event":"closed","error":MESSAGE|null}   a connection ended
//   {"event":"truncate","ancestors":A,"fork":F,"length":N}
//       the core's 'truncate' event: blocks from A on were dropped, the
//       core is now at fork F with length N
//   {"event":"append","length":N,"fork":F}   the core's 'append' event
//
// Commands, one JSON object per line on stdin, run in order:
//
//   {"truncate":N}            -> {"event":"truncated","length":N,"fork":F} (writer)
//   {"append":[STR,...]}      -> {"event":"appended","length":N,"fork":F}  (writer)
//   {"until":{"fork":F,"length":N}}
//                             -> {"event":"reached","length":N,"fork":F}
//       waits until the core is at fork F with length N
//   {"download":[S,E]}        -> {"event":"downloaded","start":S,"end":E}
//   {"stored":[S,E]}          -> {"event":"stored","indices":[I,...]}
//   {"values":[S,E]}          -> {"event":"values","values":[STR|null,...]}
//       blocks S..E-1 as strings, null for those not stored here
//
// A failed command prints {"event":"error","command":...,"error":MESSAGE}.
// It exits when stdin closes.

const fs = require('fs')
const path = require('path')
const Hypercore = require('hypercore')
const { out, keyPair, tmpdir, pipe, connect, commands, main } = require('./lib/peer')

main(async () => {
  const [mode, kind, arg, ...rest] = process.argv.slice(2)
  const tmp = tmpdir('hypercore-go-follow11-')
  let core
  let port
  if (kind === 'writer') {
    core = new Hypercore(path.join(tmp, 'core'), { keyPair: keyPair(arg) })
    await core.ready()
    const blocks = []
    for (let i = 0; i < Number(rest[0]); i++) blocks.push(Buffer.from('block ' + i))
    if (blocks.length) await core.append(blocks)
    port = rest[1]
  } else if (kind === 'clone') {
    core = new Hypercore(path.join(tmp, 'core'), Buffer.from(arg, 'hex'))
    await core.ready()
    port = rest[0]
  } else {
    throw new Error('unknown kind ' + kind)
  }
  core.on('truncate', (ancestors, fork) => out({ event: 'truncate', ancestors, fork, length: core.length }))
  core.on('append', () => out({ event: 'append', length: core.length, fork: core.fork }))

  const replicate = (socket, initiator) => pipe(socket, core.replicate(initiator))
  const server = await connect(mode, port, replicate,
    () => out({ event: 'core', key: core.key.toString('hex'), length: core.length }))

  commands((cmd) => run(core, cmd), async (queue) => {
    await queue
    if (server) server.close()
    await core.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  })
})

async function run (core, cmd) {
  if (cmd.truncate !== undefined) {
    await core.truncate(cmd.truncate)
    out({ event: 'truncated', length: core.length, fork: core.fork })
  } else if (cmd.append) {
    await core.append(cmd.append.map((x) => Buffer.from(x)))
    out({ event: 'appended', length: core.length, fork: core.fork })
  } else if (cmd.until) {
    const { fork, length } = cmd.until
    // Polled on a timer: a clone upgrades and follows forks eagerly. (An
    // await of core.update() alone can resolve at once, again and again:
    // a loop of microtasks that starves the socket it waits on.)
    const deadline = Date.now() + 50000
    while (core.fork !== fork || core.length !== length) {
      if (Date.now() > deadline) throw new Error(`at fork ${core.fork} length ${core.length}, not fork ${fork} length ${length}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    out({ event: 'reached', length: core.length, fork: core.fork })
  } else if (cmd.download) {
    await core.download({ start: cmd.download[0], end: cmd.download[1] }).done()
    out({ event: 'downloaded', start: cmd.download[0], end: cmd.download[1] })
  } else if (cmd.stored) {
    const indices = []
    for (let i = cmd.stored[0]; i < cmd.stored[1]; i++) if (await core.has(i)) indices.push(i)
    out({ event: 'stored', indices })
  } else if (cmd.values) {
    const values = []
    for (let i = cmd.values[0]; i < cmd.values[1]; i++) {
      const v = i < core.length && (await core.has(i)) ? await core.get(i, { wait: false }) : null
      values.push(v === null ? null : v.toString())
    }
    out({ event: 'values', values })
  } else {
    throw new Error('unknown command')
  }
}
