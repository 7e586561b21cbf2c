// Package gcgoal keeps a server with a small live heap from collecting
// garbage every few megabytes.
//
// Go's collector starts a cycle when the heap has grown by GOGC percent of
// what the last cycle found live (4 MiB at least). rowguard serve keeps
// about 3 MiB live and allocates about 18 KB a request, so with the
// default GOGC=100 it collected 20 times a second at 5,000 requests a
// second; every cycle wakes the idle Ps, marks and sweeps, and the
// collector and its wake-ups were a tenth of the server's CPU. Keep lets
// the heap grow by a fixed amount between cycles instead (GOGC raised
// while the live heap is small), which bounds the extra memory by that
// amount and returns to GOGC=100 once the live heap is large.
package gcgoal
