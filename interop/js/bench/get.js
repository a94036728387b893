'use strict'
// Times opening a disk feed and reading random blocks with hypercore
// 9.12.0, for interop/cmd/bench (the Go side is interop/cmd/getbench, which
// also writes the feed both read).
//
//   node bench/get.js DIR GETS
//
// Prints {"impl":"js","openMs":T,"getP50Us":U,"getP99Us":V,"length":N};
// with GETS 0 it only opens the feed, and prints {"impl":"js","openMs":T,"length":N}.

const Hypercore = require('hypercore')

const [dir, getsArg] = process.argv.slice(2)
const gets = Number(getsArg)

// a fixed xorshift generator, so every run reads the same blocks
let state = 0x9e3779b9
function rand (n) {
  state ^= state << 13; state >>>= 0
  state ^= state >>> 17
  state ^= state << 5; state >>>= 0
  return state % n
}

const start = process.hrtime.bigint()
const feed = new Hypercore(dir)
feed.ready((err) => {
  if (err) throw err
  const openMs = Number(process.hrtime.bigint() - start) / 1e6
  const n = feed.length
  const times = []
  const next = () => {
    if (gets === 0) {
      process.stdout.write(JSON.stringify({ impl: 'js', openMs, length: n }) + '\n')
      return feed.close(() => {})
    }
    if (times.length === gets) {
      times.sort((a, b) => a - b)
      process.stdout.write(JSON.stringify({
        impl: 'js', openMs, length: n,
        getP50Us: times[Math.floor(times.length / 2)],
        getP99Us: times[Math.floor(times.length * 99 / 100)]
      }) + '\n')
      return feed.close(() => {})
    }
    const t = process.hrtime.bigint()
    feed.get(rand(n), (err) => {
      if (err) throw err
      times.push(Number(process.hrtime.bigint() - t) / 1000)
      next()
    })
  }
  next()
})
