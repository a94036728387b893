'use strict'
// A full clone with hypercore 9.12.0, as a program a user runs, for the
// bench command's cli-clone row (interop/cmd/bench/cli.go): the JS
// counterpart of `hypercore clone KEY DIR --connect 127.0.0.1:PORT`.
//
//   node bench/clone.js KEY DIR PORT
//
// Creates a feed of KEY (hex) on disk in DIR, dials 127.0.0.1:PORT and
// replicates, live and as initiator (as `hypercore clone` does), waits for
// the peer's length (update), downloads every block below it, closes the
// feed and exits 0. Prints {"length":N,"downloaded":N}. The bench times it
// from exec to exit.

const net = require('net')
const Hypercore = require('hypercore')

const [keyHex, dir, port] = process.argv.slice(2)
const fail = (err) => { console.error(err); process.exit(1) }
const feed = new Hypercore(dir, Buffer.from(keyHex, 'hex'))
feed.on('error', fail)

feed.ready((err) => {
  if (err) fail(err)
  const socket = net.connect(Number(port), '127.0.0.1')
  const stream = feed.replicate(true, { live: true })
  socket.on('error', fail)
  stream.on('error', fail)
  socket.pipe(stream).pipe(socket)
  feed.update((err) => {
    if (err) fail(err)
    const length = feed.length
    feed.download({ start: 0, end: length }, (err) => {
      if (err) fail(err)
      const downloaded = feed.downloaded(0, length)
      feed.close((err) => {
        if (err) fail(err)
        process.stdout.write(JSON.stringify({ length, downloaded }) + '\n')
        process.exit(0)
      })
    })
  })
})
