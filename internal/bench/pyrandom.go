package bench // import "github.com/recordreplay/otelcol-recordreplay/internal/bench"

// pyRandom is Python's random.Random: the Mersenne Twister (MT19937) seeded
// the way random.seed(n) seeds it for a small non-negative integer n, with
// random() and choices() computed as Python computes them. The bench-peers
// report's bootstrap draws its resamples from it, so that a bench-peers.out
// gives the spreads the Python report (which this package replaced) gave for
// it: the figures already published stay reproducible.
type pyRandom struct {
	mt [mtN]uint32
	i  int
}

const (
	mtN = 624
	mtM = 397
)

// newPyRandom is random.Random(seed).
func newPyRandom(seed uint32) *pyRandom {
	r := &pyRandom{}
	// init_by_array with the key [seed]: what Python makes of a seed below 2^32
	r.mt[0] = 19650218
	for i := 1; i < mtN; i++ {
		r.mt[i] = 1812433253*(r.mt[i-1]^(r.mt[i-1]>>30)) + uint32(i)
	}
	i := 1
	for range mtN {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1664525)) + seed
		if i++; i >= mtN {
			r.mt[0], i = r.mt[mtN-1], 1
		}
	}
	for range mtN - 1 {
		r.mt[i] = (r.mt[i] ^ ((r.mt[i-1] ^ (r.mt[i-1] >> 30)) * 1566083941)) - uint32(i)
		if i++; i >= mtN {
			r.mt[0], i = r.mt[mtN-1], 1
		}
	}
	r.mt[0] = 0x80000000
	r.i = mtN
	return r
}

// uint32 is the generator's next 32-bit output (getrandbits(32)).
func (r *pyRandom) uint32() uint32 {
	if r.i >= mtN {
		for k := range mtN {
			y := r.mt[k]&0x80000000 | r.mt[(k+1)%mtN]&0x7fffffff
			next := r.mt[(k+mtM)%mtN] ^ y>>1
			if y&1 != 0 {
				next ^= 0x9908b0df
			}
			r.mt[k] = next
		}
		r.i = 0
	}
	y := r.mt[r.i]
	r.i++
	y ^= y >> 11
	y ^= y << 7 & 0x9d2c5680
	y ^= y << 15 & 0xefc60000
	return y ^ y>>18
}

// random is random(): a float64 in [0, 1) from 53 random bits.
func (r *pyRandom) random() float64 {
	a, b := r.uint32()>>5, r.uint32()>>6
	return (float64(a)*67108864 + float64(b)) / 9007199254740992
}

// choices is choices(items, k=len(items)): a resample with replacement.
func choices[T any](r *pyRandom, items []T) []T {
	out := make([]T, len(items))
	n := float64(len(items))
	for i := range out {
		out[i] = items[int(r.random()*n)]
	}
	return out
}
