package sessiontest // import "github.com/recordreplay/otelcol-recordreplay/internal/testutil/sessiontest"

import (
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// RealisticTraces returns a batch of about n spans shaped like production
// traffic (8 services, random ids, HTTP semconv attributes, an exception
// event on one span in ten), so that compression and decoding work as hard
// as on real data. The same seed gives the same batch.
func RealisticTraces(seed uint64, n int, base time.Time) ptrace.Traces {
	r := rand.New(rand.NewPCG(seed, 7))
	services := []string{"frontend", "checkout", "payment", "cart", "product-catalog", "currency", "shipping", "email"}
	routes := []string{"/api/cart", "/api/checkout", "/api/products/{id}", "/api/currency/convert", "/api/shipping/quote"}
	td := ptrace.NewTraces()
	perService := n / len(services)
	for si, svc := range services {
		rs := td.ResourceSpans().AppendEmpty()
		ra := rs.Resource().Attributes()
		ra.PutStr("service.name", svc)
		ra.PutStr("service.version", "1.4."+fmt.Sprint(si))
		ra.PutStr("deployment.environment.name", "production")
		ra.PutStr("host.name", fmt.Sprintf("node-%02d", r.IntN(20)))
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName("io.opentelemetry.http")
		for i := range perService {
			sp := ss.Spans().AppendEmpty()
			var tid [16]byte
			var sid [8]byte
			for k := range tid {
				tid[k] = byte(r.Uint32())
			}
			for k := range sid {
				sid[k] = byte(r.Uint32())
			}
			sp.SetTraceID(tid)
			sp.SetSpanID(sid)
			route := routes[r.IntN(len(routes))]
			sp.SetName("GET " + route)
			sp.SetKind(ptrace.SpanKindServer)
			start := base.Add(time.Duration(i) * time.Millisecond)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(r.IntN(200_000)) * time.Microsecond)))
			a := sp.Attributes()
			a.PutStr("http.request.method", "GET")
			a.PutStr("http.route", route)
			a.PutInt("http.response.status_code", int64([]int{200, 200, 200, 201, 404, 500}[r.IntN(6)]))
			a.PutStr("url.path", route+"/"+fmt.Sprint(r.IntN(100000)))
			a.PutStr("server.address", svc+".shop.svc.cluster.local")
			a.PutInt("server.port", 8080)
			a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
			if r.IntN(10) == 0 {
				ev := sp.Events().AppendEmpty()
				ev.SetName("exception")
				ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
				ev.Attributes().PutStr("exception.type", "TimeoutError")
				ev.Attributes().PutStr("exception.message", "upstream timed out after 5s")
			}
		}
	}
	return td
}
