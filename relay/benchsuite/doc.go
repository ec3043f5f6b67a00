// Package benchsuite is the end-to-end benchmark suite (`make bench`): the
// same RealWorld workloads run, in one process and one run, against
//
//   - floor: the functions' handlers called in-process on the events as a
//     change stream returns them (no relay, no Lambda hop);
//   - naive: the relay binary with batchSize 1 and concurrency 1 on every
//     route (one event per invocation, one at a time per collection);
//   - the relay binary with its defaults, and with tuned settings;
//
// on the Docker-free stack (mongolocal, the functions under the runtime
// interface emulator behind lambdahost). The bench itself measures
// write-to-converged latency by tailing the database's change log: every
// source write becomes a requirement on the derived fields it affects, and
// it is met when the functions' version-stamped write of those fields
// commits. See README.md for the method.
package benchsuite
