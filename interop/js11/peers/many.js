'use strict'
// A JS Hypercore 11 peer with many cores on ONE replication stream, for the
// interop matrix (interop/matrix11_test.go): COUNT writers, or clones of the
// keys given, all in one hypercore-storage, replicated over one TCP
// connection on 127.0.0.1 by calling core.replicate() on the first core and
// core.replicate(stream) on the others (they share its protomux).
//
//   node peers/many.js listen writer SEEDHEX COUNT BLOCKS
//   node peers/many.js dial   writer SEEDHEX COUNT BLOCKS PORT
//   node peers/many.js listen clone  KEYHEX,KEYHEX,...
//   node peers/many.js dial   clone  KEYHEX,KEYHEX,... PORT
//
// Writer k (0-based) has the key pair of seed SHA-256(SEED ‖ u32le(k)) and
// blocks "core k block 0", "core k block 1", ... Events, one JSON object
// per line on stdout:
//
//   {"event":"listening","port":P}          (listen) the port to dial
//   {"event":"cores","keys":[HEX,...]}      the cores, before connecting
//   {"event":"connection","initiator":BOOL}
//   {"event":"closed","error":MESSAGE|null}
//
// Commands, one JSON object per line on stdin:
//
//   {"download":N} -> {"event":"downloaded","digests":[HEX,...]}
//       every core waits for length N, downloads blocks [0, N) and reports
//       SHA-256 of its blocks 0..N-1 concatenated.
//
// A failed command prints {"event":"error","command":...,"error":MESSAGE}.
// It exits when stdin closes.

const fs = require('fs')
const path = require('path')
const crypto = require('crypto')
const Hypercore = require('hypercore')
const CoreStorage = require('hypercore-storage')
const { out, keyPair, tmpdir, pipe, connect, commands, main } = require('./lib/peer')

main(async () => {
  const [mode, kind, ...rest] = process.argv.slice(2)
  const tmp = tmpdir('hypercore-go-many11-')
  const storage = new CoreStorage(path.join(tmp, 'store'))
  const cores = []
  let port
  if (kind === 'writer') {
    const [seed, count, blocks] = [Buffer.from(rest[0], 'hex'), Number(rest[1]), Number(rest[2])]
    port = rest[3]
    for (let k = 0; k < count; k++) {
      const n = Buffer.alloc(4)
      n.writeUInt32LE(k)
      const s = crypto.createHash('sha256').update(Buffer.concat([seed, n])).digest()
      const { publicKey, secretKey } = keyPair(s)
      // Key and manifest are given: in a shared storage a core opened
      // without a key is the storage's default core. They are what
      // new Hypercore(dir, { keyPair }) makes (a default v1 manifest).
      const core = new Hypercore(storage, {
        key: Hypercore.key(publicKey),
        manifest: { version: 1, signers: [{ publicKey }] },
        keyPair: { publicKey, secretKey }
      })
      await core.ready()
      const bs = []
      for (let i = 0; i < blocks; i++) bs.push(Buffer.from('core ' + k + ' block ' + i))
      if (bs.length) await core.append(bs)
      cores.push(core)
    }
  } else if (kind === 'clone') {
    port = rest[1]
    for (const key of rest[0].split(',')) {
      const core = new Hypercore(storage, Buffer.from(key, 'hex'))
      await core.ready()
      cores.push(core)
    }
  } else {
    throw new Error('unknown kind ' + kind)
  }

  const replicate = (socket, initiator) => {
    out({ event: 'connection', initiator })
    const s = cores[0].replicate(initiator)
    for (const core of cores.slice(1)) core.replicate(s)
    pipe(socket, s)
  }
  const server = await connect(mode, port, replicate,
    () => out({ event: 'cores', keys: cores.map((c) => c.key.toString('hex')) }))

  commands((cmd) => run(cores, cmd), async (queue) => {
    await queue
    if (server) server.close()
    for (const core of cores) await core.close()
    await storage.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  })
})

async function run (cores, cmd) {
  if (cmd.download !== undefined) {
    const n = cmd.download
    const digests = await Promise.all(cores.map(async (core) => {
      while (core.length < n) await new Promise((resolve) => core.once('append', resolve))
      await core.download({ start: 0, end: n }).done()
      const h = crypto.createHash('sha256')
      for (let i = 0; i < n; i++) h.update(await core.get(i))
      return h.digest('hex')
    }))
    out({ event: 'downloaded', digests })
  } else {
    throw new Error('unknown command')
  }
}
