package org.modelrunner.transport.inprocess;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.AbstractQueue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.ToLongFunction;
import java.util.stream.Stream;
import org.jctools.queues.MpmcUnboundedXaddArrayQueue;

/**
 * The shared pool of threads that run model code for every in-process runner: a few workers (as
 * many as processors, at least two) take requests from one queue, so ten thousand models cost no
 * more threads than ten.
 *
 * <h2>Hand-off</h2>
 *
 * A model that hangs or runs slow must never delay another model's call. While requests wait in the
 * queue, a watcher thread looks at the workers; a worker is <em>handed off</em> when it has been
 * inside one request for longer than {@link #HAND_OFF_NANOS} and was seen waiting, sleeping or
 * blocked inside model code (as a hung model usually is) at two looks in a row, or for longer than
 * {@link #HAND_OFF_RUNNING_NANOS} otherwise: waiting outside model code (for the coordinator's own
 * locks, which are held briefly), or running, if it uses a processor meanwhile (a worker that only
 * waits for one on a busy machine is left alone: another thread would wait too). A handed-off
 * worker is no longer counted as one of the pool's workers, and a new worker starts at once to take
 * the queue. The pool is therefore at most {@link #BASE_WORKERS} plus one thread per request that
 * has been running longer than the hand-off time right now (at most {@link #MAX_HANDED_OFF}). When
 * a handed-off request returns, its worker is counted again, and the pool shrinks back at once: a
 * thread above the pool's size ends as soon as it looks for its next request. (Kept as spares, such
 * threads took requests from the queue in turn with the others for as long as requests kept coming,
 * so that a busy fleet ran on more threads than processors for good.)
 *
 * <h2>Batches</h2>
 *
 * A worker that takes a request while others wait takes a few more with it ({@link #BATCH} at most,
 * and at most half of those waiting, the rest left to the other workers) and runs them in turn: the
 * workers then take their requests from the queue a few at a time, not each one (with its count,
 * which every worker and sender update), and two workers seldom run requests next to each other in
 * a fan-out, whose results share cache lines. A fan-out over ten thousand in-process models that
 * answer at once takes about a third less processor time so ({@code FanOutBenchmark} on two cores:
 * 2.4-2.6 against 3.3-3.7 µs per call). A request a worker has taken but not started is given back
 * by the watcher when the worker has been inside its current request for longer than {@link
 * #HAND_OFF_NANOS} (hung, handed off, or merely slow), or by the worker when a request fails with
 * an exception; requests given back are taken before the queue (they were next), by any worker. A
 * slow model therefore delays the rest of its worker's batch by about the hand-off time and the
 * watcher's period at most, never for its whole call.
 *
 * <h2>What the watcher costs</h2>
 *
 * The watcher sleeps while no request waits, queued or in a batch (the first request queued, or a
 * batch taken, wakes it). While requests wait it looks every {@link #WATCH_PERIOD_NANOS}, and every
 * {@link #SUSPECT_PERIOD_NANOS} while some worker is suspect (waiting inside model code, or handed
 * off at the last look), so that a fan-out of models that answer at once wakes it a few times, not
 * once every few microseconds, while a run of hung models is handed off within about {@link
 * #HAND_OFF_NANOS} each. The two looks keep model code that merely waits for a lock for an instant
 * from being replaced by a new thread.
 *
 * <p>With the busy rule (one request per model at a time), a model that never returns holds one
 * thread and no more; its later requests are refused {@code BUSY} without a worker.
 */
final class ModelWorkers extends ThreadPoolExecutor {
  /**
   * The number of workers when none is handed off: one per processor (more only make the workers of
   * a fan-out of models that answer at once take turns on the processors).
   */
  static final int BASE_WORKERS = Math.max(2, Runtime.getRuntime().availableProcessors());

  /**
   * How long a worker may be in one request, while others wait, before it is handed off, when its
   * model code is not running (it waits, sleeps or is blocked: a model that hangs usually is).
   */
  static final long HAND_OFF_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

  /**
   * How long a worker whose model code is running (or ready to run: a worker the scheduler has not
   * given a processor looks the same) may be in one request, while others wait, before it is handed
   * off: longer, so that workers merely waiting for a processor on a busy machine are not replaced
   * by more threads that would wait for it too.
   */
  static final long HAND_OFF_RUNNING_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

  /**
   * How much processor time a worker long in one request must use between two looks to count as
   * running (not merely waiting for a processor).
   */
  static final long RUNNING_PROOF_NANOS = TimeUnit.MICROSECONDS.toNanos(200);

  /** How often the watcher looks at the workers while requests wait and no worker is suspect. */
  static final long WATCH_PERIOD_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  /** How often the watcher looks at the workers while requests wait and some worker is suspect. */
  static final long SUSPECT_PERIOD_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

  /** At most this many workers are handed off at once (threads that model code keeps). */
  static final int MAX_HANDED_OFF = 4096;

  /** At most this many requests are taken from the queue at once by one worker (a batch). */
  static final int BATCH = 8;

  private static final long IDLE = Long.MIN_VALUE;

  /** A worker thread, with the time it started its current request. */
  static final class Worker extends Thread {
    // Guarded by this: the worker writes them around each request, the watcher reads them.
    private long busySince = IDLE;
    private boolean handedOff;

    /** The {@link #busySince} of the request in which the watcher last saw it not running. */
    private long seenWaitingIn = IDLE;

    /** The {@link #busySince} of the request in which its processor time was sampled. */
    private long cpuSampledIn = IDLE;

    /** Its processor time at that sample. */
    private long cpuSample;

    /** Whether it runs model code now (written by the worker, read by the watcher). */
    private volatile boolean inModel;

    /** The batch it runs, or null (written by the worker, read by the watcher). */
    private volatile Batch batch;

    Worker(Runnable body, String name) {
      super(body, name);
    }
  }

  private final Set<Worker> workers = ConcurrentHashMap.newKeySet();
  private final AtomicInteger handedOff = new AtomicInteger();
  private final Thread watcher;

  /** Set while the watcher sleeps for want of requests; the first request queued clears it. */
  private final AtomicBoolean watcherParked = new AtomicBoolean();

  private final ToLongFunction<Thread> cpuTime;

  ModelWorkers() {
    this(true, ModelWorkers::processorTime);
  }

  /**
   * @param watched whether a watcher thread hands off long-running workers; without it, {@link
   *     #handOffLongRunning} is called by hand (tests)
   * @param cpuTime a thread's processor time in nanoseconds, negative if unknown
   */
  ModelWorkers(boolean watched, ToLongFunction<Thread> cpuTime) {
    super(
        BASE_WORKERS,
        BASE_WORKERS,
        0, // no thread is ever above the core size but below the maximum: they are equal
        TimeUnit.NANOSECONDS,
        // Not a LinkedTransferQueue: its idle workers spin (and yield) before they park, which on
        // few cores takes the processor from the thread that dispatches a fan-out. FanOutBenchmark,
        // 100 models, ten alternated runs each: tick p99 0.7-4.0 ms (median 3.1) with it, against
        // 0.4-1.2 ms (median 0.8) with this queue, for a p50 of 0.14-0.18 against 0.19-0.21 ms.
        new WorkQueue());
    this.cpuTime = cpuTime;
    ((WorkQueue) getQueue()).pool = this;
    setThreadFactory(
        body -> {
          Worker[] self = new Worker[1];
          self[0] =
              TransportThreads.newWorker(
                  () -> {
                    try {
                      body.run();
                    } finally {
                      workers.remove(self[0]);
                    }
                  });
          workers.add(self[0]);
          return self[0];
        });
    watcher = watched ? TransportThreads.newThread("workers-watch", this::watch) : null;
    if (watcher != null) {
      watcher.start();
    }
  }

  @Override
  public void execute(Runnable task) {
    super.execute(task);
    wakeWatcher();
  }

  /**
   * Wakes the watcher if it sleeps for want of requests. Only the request that finds it asleep
   * wakes it: a fan-out queues thousands of requests before the watcher runs again, and each unpark
   * of a thread costs a system call.
   */
  private void wakeWatcher() {
    if (watcher != null && watcherParked.get() && watcherParked.compareAndSet(true, false)) {
      LockSupport.unpark(watcher);
    }
  }

  @Override
  protected void beforeExecute(Thread thread, Runnable task) {
    started((Worker) thread);
  }

  /** Records that a worker starts a request: the hand-off time counts from now. */
  private static void started(Worker worker) {
    synchronized (worker) {
      worker.busySince = System.nanoTime();
    }
  }

  /**
   * The queue of requests: a worker that takes one while others wait takes a {@link Batch} of a few
   * (see the class comment). Requests given back from a batch go first, ahead of the queue: they
   * were next.
   *
   * <p>It holds no lock, and wakes workers as a {@link LinkedBlockingQueue} does, not for every
   * request (each wake is a system call, and a woken worker that finds nothing sleeps again): a
   * sender queues its request without a lock and wakes one sleeping worker if the queue was empty;
   * a worker that takes a request and leaves others wakes one more. A worker that finds no request
   * says it sleeps, looks once more, and only then parks; a sender queues its request, then looks
   * for a sleeper: one of the two sees the other's step (volatile order). The count lags the queue
   * by a step at most, and the step that brings it up or down is the one that wakes, so no request
   * is left waiting while every worker sleeps. (The blocking queue took two locks per request, one
   * of them the workers' own. Without them, {@code FanOutBenchmark} over 10,000 models of one class
   * on two cores: 10.5-11.1 against 12.2-14.7 ms a tick, 2.0-2.1 against 2.3-2.6 µs of processor
   * time a call.)
   */
  private static final class WorkQueue extends AbstractQueue<Runnable>
      implements BlockingQueue<Runnable> {
    /**
     * The requests queued: an array queue whose producers and consumers move indices of their own,
     * each on a line of memory of its own. (A linked queue kept its head and tail in one object,
     * which senders and workers both wrote: {@code FanOutBenchmark} over 10,000 isolated
     * submissions on two cores, seven alternated pairs, 15.7-19.1 against 16.9-19.6 ms a tick,
     * better in six.) It cannot remove a request from its middle nor be walked: {@link #remove} and
     * {@link #iterator}, which only the pool's shutdown uses, take its requests out and queue them
     * again.
     */
    private final MpmcUnboundedXaddArrayQueue<Runnable> queued =
        new MpmcUnboundedXaddArrayQueue<>(QUEUE_CHUNK);

    /** The requests in each of {@link #queued}'s arrays. */
    private static final int QUEUE_CHUNK = 1024;

    /**
     * The number of requests in {@link #queued}, by which a sender knows it queued onto an empty
     * queue and wakes a worker (the sender that raises it from zero is the one; a queue's own size,
     * read after the request is in, can show two senders a count of two, and neither wakes). Waking
     * instead whenever a worker sleeps, without this count, took more processor time over 10,000
     * models of one class ({@code FanOutBenchmark 10000}, three alternated pairs: 2.6-2.7 against
     * 1.9-2.6 µs a call).
     */
    private final AtomicInteger count = new AtomicInteger();

    /** Requests given back from batches, taken before the queue. */
    private final ConcurrentLinkedQueue<Runnable> givenBack = new ConcurrentLinkedQueue<>();

    /** The workers parked for want of requests, woken in turn. */
    private final ConcurrentLinkedQueue<Thread> sleepers = new ConcurrentLinkedQueue<>();

    /** The pool, set once it is built (before any request). */
    private ModelWorkers pool;

    @Override
    public boolean offer(Runnable request) {
      queued.offer(request); // throws on null
      if (count.getAndIncrement() <= 0) {
        wakeOne(); // the queue was empty: the workers may sleep
      }
      return true;
    }

    @Override
    public void put(Runnable request) {
      offer(request);
    }

    @Override
    public boolean offer(Runnable request, long timeout, TimeUnit unit) {
      return offer(request);
    }

    @Override
    public Runnable take() throws InterruptedException {
      while (true) {
        Runnable again = givenBack.poll();
        if (again != null) {
          return again;
        }
        Runnable first = pollQueued();
        if (first != null) {
          return batchFrom(first);
        }
        sleep(false, 0);
      }
    }

    @Override
    public Runnable poll(long timeout, TimeUnit unit) throws InterruptedException {
      long deadline = System.nanoTime() + unit.toNanos(timeout);
      while (true) {
        Runnable request = poll();
        if (request != null || !sleep(true, deadline)) {
          return request;
        }
      }
    }

    @Override
    public Runnable poll() {
      Runnable again = givenBack.poll();
      return again != null ? again : pollQueued();
    }

    private Runnable pollQueued() {
      Runnable request = queued.poll();
      if (request != null && count.decrementAndGet() > 0) {
        wakeOne(); // more wait: another worker may take them
      }
      return request;
    }

    @Override
    public Runnable peek() {
      Runnable again = givenBack.peek();
      return again != null ? again : queued.peek();
    }

    /**
     * Parks the current worker until a request may wait, or until {@code deadline} if {@code
     * timed}; returns false if the deadline passed.
     */
    private boolean sleep(boolean timed, long deadline) throws InterruptedException {
      long left = timed ? deadline - System.nanoTime() : 1;
      if (left <= 0) {
        return false;
      }
      Thread self = Thread.currentThread();
      sleepers.offer(self);
      if (isEmpty()) { // looked at after saying it sleeps: a request queued before is seen here
        if (timed) {
          LockSupport.parkNanos(this, left);
        } else {
          LockSupport.park(this);
        }
      }
      if (!sleepers.remove(self) && !isEmpty()) {
        // A sender took this worker to wake it; should it leave now (interrupted, or its time
        // up) or find the request taken, the request that woke it must not wait for a sleeper.
        wakeOne();
      }
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      return true;
    }

    /** Wakes one sleeping worker, if any. */
    private void wakeOne() {
      Thread sleeper = sleepers.poll();
      if (sleeper != null) {
        LockSupport.unpark(sleeper);
      }
    }

    /** Returns the number of requests that wait: queued or given back. */
    @Override
    public int size() {
      return Math.max(0, count.get()) + givenBack.size();
    }

    @Override
    public boolean isEmpty() {
      return givenBack.isEmpty() && queued.isEmpty();
    }

    @Override
    public int remainingCapacity() {
      return Integer.MAX_VALUE;
    }

    @Override
    public boolean remove(Object request) {
      if (givenBack.remove(request)) {
        return true;
      }
      boolean removed = false;
      for (Runnable other : takeQueued()) {
        if (!removed && other == request) {
          removed = true;
          count.decrementAndGet();
        } else {
          queued.offer(other);
        }
      }
      wakeOne(); // workers that found the queue empty meanwhile may sleep
      return removed;
    }

    /**
     * The requests that wait, those given back first (the queued ones taken out and queued again);
     * its {@code remove} is not supported.
     */
    @Override
    public Iterator<Runnable> iterator() {
      List<Runnable> queuedNow = takeQueued();
      queuedNow.forEach(queued::offer);
      wakeOne();
      return Collections.unmodifiableCollection(
              Stream.concat(givenBack.stream(), queuedNow.stream()).toList())
          .iterator();
    }

    /** Takes every request queued out of the queue (its count unchanged). */
    private List<Runnable> takeQueued() {
      List<Runnable> taken = new ArrayList<>();
      for (Runnable request; (request = queued.poll()) != null; ) {
        taken.add(request);
      }
      return taken;
    }

    @Override
    public int drainTo(Collection<? super Runnable> sink) {
      return drainTo(sink, Integer.MAX_VALUE);
    }

    /** Moves requests waiting to {@code sink} (the pool stops), those given back first. */
    @Override
    public int drainTo(Collection<? super Runnable> sink, int most) {
      int moved = 0;
      for (Runnable request; moved < most && (request = poll()) != null; moved++) {
        sink.add(request);
      }
      return moved;
    }

    /** Queues requests given back from a batch, ahead of the others, and wakes workers for them. */
    void giveBack(List<Runnable> requests) {
      givenBack.addAll(requests);
      for (int i = 0; i < requests.size(); i++) {
        wakeOne();
      }
    }

    /** Returns {@code first}, or a batch of it and a few more if many wait. */
    private Runnable batchFrom(Runnable first) {
      int more = Math.min(BATCH - 1, count.get() / 2);
      if (more <= 0) {
        return first;
      }
      Runnable[] items = new Runnable[more + 1];
      items[0] = first;
      int taken = 1;
      for (Runnable next; taken <= more && (next = pollQueued()) != null; ) {
        items[taken++] = next;
      }
      if (taken == 1) {
        return first;
      }
      Batch batch = new Batch(taken == items.length ? items : Arrays.copyOf(items, taken), this);
      // Seen by the watcher before it looks for requests that wait: they are no longer queued.
      ((Worker) Thread.currentThread()).batch = batch;
      pool.wakeWatcher();
      return batch;
    }
  }

  /**
   * Requests a worker took from the queue together and runs in turn; those it has not started can
   * be given back ({@link #giveBack}), to be taken by any worker.
   */
  static final class Batch implements Runnable {
    private final Runnable[] requests;
    private final WorkQueue queue;

    /** The index of the first request not started or given back; through {@link #NEXT}. */
    @SuppressWarnings("UnusedVariable") // through NEXT
    private volatile int next;

    private static final VarHandle NEXT;

    static {
      try {
        NEXT = MethodHandles.lookup().findVarHandle(Batch.class, "next", int.class);
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }

    Batch(Runnable[] requests, WorkQueue queue) {
      this.requests = requests;
      this.queue = queue;
    }

    /**
     * Runs the requests in turn, on the worker that took them (the queue made it the worker's
     * batch), until none is left or the rest was given back.
     */
    @Override
    public void run() {
      Worker worker = (Worker) Thread.currentThread();
      try {
        boolean first = true;
        for (Runnable request = claim(); request != null; request = claim()) {
          if (!first) {
            // As the pool does between tasks: an interrupt left by one request is not the next's
            // (unless the pool stops).
            if (!queue.pool.isShutdown()) {
              Thread.interrupted();
            }
            started(worker);
          }
          first = false;
          request.run();
        }
      } catch (RuntimeException | Error e) {
        giveBack(); // the worker ends with the failure; the rest goes to the others
        throw e;
      } finally {
        worker.batch = null;
      }
    }

    private Runnable claim() {
      int index = (int) NEXT.getAndAdd(this, 1);
      return index < requests.length ? requests[index] : null;
    }

    /** Returns whether some request is neither started nor given back. */
    boolean hasRest() {
      return (int) NEXT.getVolatile(this) < requests.length;
    }

    /**
     * Gives back the requests not started (the worker will not start them), ahead of the queue;
     * returns how many.
     */
    int giveBack() {
      int from = (int) NEXT.getAndSet(this, requests.length);
      if (from >= requests.length) {
        return 0;
      }
      queue.giveBack(Arrays.asList(requests).subList(from, requests.length));
      return requests.length - from;
    }
  }

  @Override
  protected void afterExecute(Runnable task, Throwable error) {
    Worker worker = (Worker) Thread.currentThread();
    boolean wasHandedOff;
    synchronized (worker) {
      worker.busySince = IDLE;
      wasHandedOff = worker.handedOff;
      worker.handedOff = false;
    }
    if (wasHandedOff) {
      handedOff.decrementAndGet();
      resize();
    }
  }

  @Override
  public List<Runnable> shutdownNow() {
    List<Runnable> pending = super.shutdownNow();
    if (watcher != null) {
      LockSupport.unpark(watcher);
    }
    return pending;
  }

  @Override
  public void shutdown() {
    super.shutdown();
    if (watcher != null) {
      LockSupport.unpark(watcher);
    }
  }

  /**
   * Records that the current thread enters model code (or leaves it): a worker that waits there is
   * handed off sooner than one that waits elsewhere. Does nothing on a thread that is no worker.
   */
  static void inModel(boolean entering) {
    if (Thread.currentThread() instanceof Worker worker) {
      worker.inModel = entering;
    }
  }

  /** Returns a thread's processor time in nanoseconds, or -1 where the JVM cannot tell. */
  static long processorTime(Thread thread) {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    return threads.isThreadCpuTimeSupported() ? threads.getThreadCpuTime(thread.getId()) : -1;
  }

  /** Returns the number of workers handed off now (inside a request that runs long). */
  int handedOffWorkers() {
    return handedOff.get();
  }

  /** Returns the states of the worker threads alive, for tests. */
  List<Thread.State> workerStates() {
    return workers.stream().map(Thread::getState).toList();
  }

  /** Returns when the worker that started its request last started it, for tests. */
  long latestBusySince() {
    long latest = IDLE;
    for (Worker worker : workers) {
      synchronized (worker) {
        latest = Math.max(latest, worker.busySince);
      }
    }
    return latest;
  }

  /** Returns the number of worker threads alive. */
  int liveWorkers() {
    return workers.size();
  }

  /** The watcher's loop: hands off long-running workers while requests wait; sleeps otherwise. */
  private void watch() {
    while (!isShutdown()) {
      if (nothingWaits()) {
        watcherParked.set(true);
        if (nothingWaits() && !isShutdown()) {
          LockSupport.park(this);
        }
        watcherParked.set(false);
        continue;
      }
      boolean suspect = handOffLongRunning(System.nanoTime());
      LockSupport.parkNanos(this, suspect ? SUSPECT_PERIOD_NANOS : WATCH_PERIOD_NANOS);
    }
  }

  /** Returns whether no request waits: none queued, none in a batch not started. */
  private boolean nothingWaits() {
    if (!getQueue().isEmpty()) {
      return false;
    }
    for (Worker worker : workers) {
      Batch batch = worker.batch;
      if (batch != null && batch.hasRest()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Looks at every worker and hands off those stuck in one request: waiting, sleeping or blocked
   * past the hand-off time at two looks in a row, or running (or ready to run) past {@link
   * #HAND_OFF_RUNNING_NANOS} while using a processor: its processor time must grow by {@link
   * #RUNNING_PROOF_NANOS} between two looks, so that a worker that merely waits for a processor on
   * a busy machine is not replaced by another thread that would wait for one too.
   *
   * @return whether some worker is suspect: waiting inside model code, running long, or handed off
   *     now (the watcher then looks again soon)
   */
  boolean handOffLongRunning(long now) {
    int added = 0;
    boolean suspect = false;
    for (Worker worker : workers) {
      Thread.State state = worker.getState();
      synchronized (worker) {
        long since = worker.busySince;
        if (since == IDLE) {
          continue;
        }
        Batch batch = worker.batch;
        if (batch != null && now - since > HAND_OFF_NANOS) {
          batch.giveBack(); // the rest of its batch goes to the other workers
        }
        if (worker.handedOff) {
          continue;
        }
        boolean stuck;
        if (state == Thread.State.RUNNABLE) {
          stuck = now - since > HAND_OFF_RUNNING_NANOS && runsLong(worker, since);
          suspect |= now - since > HAND_OFF_RUNNING_NANOS;
        } else {
          boolean inModel = worker.inModel;
          boolean seenWaiting = worker.seenWaitingIn == since;
          worker.seenWaitingIn = since;
          stuck = seenWaiting && now - since > (inModel ? HAND_OFF_NANOS : HAND_OFF_RUNNING_NANOS);
          suspect |= inModel;
        }
        if (stuck && handedOff.get() < MAX_HANDED_OFF) {
          worker.handedOff = true;
          handedOff.incrementAndGet();
          added++;
        }
      }
    }
    if (added > 0) {
      resize();
      suspect = true;
    }
    return suspect;
  }

  /**
   * Returns whether a worker long in its request uses a processor: its processor time grew by
   * {@link #RUNNING_PROOF_NANOS} since the first look that found it long in this request. Guarded
   * by the worker.
   */
  private boolean runsLong(Worker worker, long since) {
    long cpu = cpuTime.applyAsLong(worker);
    if (cpu < 0) {
      return true; // processor time not measurable here: the wall time alone decides
    }
    if (worker.cpuSampledIn != since) {
      worker.cpuSampledIn = since;
      worker.cpuSample = cpu;
      return false;
    }
    return cpu - worker.cpuSample >= RUNNING_PROOF_NANOS;
  }

  /**
   * Sizes the pool to the base workers plus the handed-off ones, its maximum with it: the queue is
   * unbounded, so the pool never starts threads beyond its size on its own, and a thread above a
   * lowered maximum ends when it looks for its next request.
   */
  private synchronized void resize() {
    if (!isShutdown()) {
      int size = BASE_WORKERS + handedOff.get();
      if (size >= getMaximumPoolSize()) {
        setMaximumPoolSize(size);
        setCorePoolSize(size);
      } else {
        setCorePoolSize(size);
        setMaximumPoolSize(size);
      }
    }
  }
}
