// A relay 100,000 envelopes behind, both ways at once: 200,000 differences over one link on
// TestNet (issue: a relay 100,000 behind held 106 of them after 99 s). The whole set splits
// (its estimate is over 65,536) and four key ranges follow, each streaming while the next is
// reconciled, paced by the link: each envelope crosses once. Key-range order is not sequence
// order, so gaps open all the time; they are left to the transfer rather than chased.
// Its own file: it moves 200,000 envelopes (a minute or two of CPU).
import t from 'tap'
import { crossOver } from './helpers/catchup.ts'

t.test('200,000 differences (100,000 each way) converge over one link, range by range, each envelope once', async t => {
  await crossOver(t, Number(process.env.DDIL_CATCHUP_EACH ?? 100_000), {}, { sessionsMax: 8, ratioMax: 2.5 })
})
