/**
 * The in-process transport: models hosted inside the JVM, reached at {@code inproc://name}
 * endpoints as if each ran behind its own runner process. For coordinators' tests and local work.
 *
 * <h2>Public surface</h2>
 *
 * <ul>
 *   <li>{@link org.modelrunner.transport.inprocess.InProcessModels}: the JVM-wide registry.
 *       Register a submission (a directory or jar, in an isolated class loader) or an
 *       implementation class on the class path under a name; get a {@link
 *       org.modelrunner.spi.ModelDirectory} of what is registered.
 *   <li>{@link org.modelrunner.transport.inprocess.InProcessRunner}: the handle of one registered
 *       model: its endpoint, its faults, {@code crash()} and {@code close()}.
 *   <li>{@link org.modelrunner.transport.inprocess.Faults}: latency, scheduled or random failures,
 *       hangs and crashes to inject into calls.
 *   <li>{@link org.modelrunner.transport.inprocess.InProcessTransportProvider}: the {@link
 *       org.modelrunner.spi.TransportProvider} of the {@code inproc} scheme, found by {@link
 *       java.util.ServiceLoader}.
 * </ul>
 *
 * <h2>Same path as the network</h2>
 *
 * Unlike grpc-java's in-process transport, this one does not skip serialization: {@code prepare}
 * encodes a call once into bytes shared by every model of a fan-out; each runner decodes its own
 * copy of the arguments, calls the {@link org.modelrunner.loader.HostedModel}, and encodes its
 * reply, which the client decodes. The client's and the runner's message size limits are both
 * enforced ({@code MESSAGE_TOO_LARGE}); malformed bytes fail one request ({@code INTERNAL}) and
 * nothing else. A runner can opt into zero-copy, which skips the byte round trip but still limits
 * sizes.
 *
 * <h2>Threads and time</h2>
 *
 * Model code never runs on the caller's thread. All runners share a small pool of daemon workers
 * ({@code modelrunner-inproc-N}, as many as processors, at least two) instead of a thread per
 * model. While requests wait, a watcher ({@code modelrunner-inproc-workers-watch}) hands off a
 * worker stuck in one request: one waiting in model code for more than 100 µs (seen at two looks),
 * or running (and using a processor) for more than 5 ms; a new worker takes the queue at once, and
 * the handed-off one rejoins the pool when its model returns. A model that hangs or runs slow
 * therefore costs its own thread, never another model's call; a worker that only waits for a
 * processor on a busy machine is not replaced (see {@code ModelWorkers}). When many requests wait
 * (a fan-out), a worker takes a few at once (at most 8, at most half of those waiting) and runs
 * them in turn, which costs about a third less processor time than taking each alone; those it has
 * not started when its current request has run for more than 100 µs are given back, ahead of the
 * queue, to any worker (the watcher looks every millisecond while requests wait: a slow model
 * delays the requests taken with it by about that much at most). A request whose caller gave up
 * (its deadline passed, or its connection closed) before a worker took it never reaches the model,
 * and frees the model at once: a queued request does not leave its model busy. Deadlines and
 * injected latency share one timer thread ({@code modelrunner-inproc-timer}); a request's deadline
 * costs no object of its own. Directory events are delivered on one events thread ({@code
 * modelrunner-inproc-events}). These threads exist while a runner, transport or directory is open,
 * and stop when the last one is closed, except a worker still inside model code that ignores
 * interruption: it ends when that code returns.
 *
 * <h2>Outcomes</h2>
 *
 * Setup, call and reset answer with the hosted model's exact replies; transport failures are {@link
 * org.modelrunner.spi.TransportException}s: {@code UNAVAILABLE} (no model under that name, crashed
 * or closed), {@code BUSY} ("Server busy": the model runs another request), {@code
 * DEADLINE_EXCEEDED}, {@code MESSAGE_TOO_LARGE}, {@code CANCELLED} (connection or transport
 * closed), {@code INTERNAL}.
 */
package org.modelrunner.transport.inprocess;
