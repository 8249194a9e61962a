package io.simpletokenlimiter.limit.store.redis;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.ReadFrom;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.EventLoopGroupProvider;
import io.lettuce.core.resource.NettyCustomizer;
import io.lettuce.core.resource.Transports;
import io.netty.bootstrap.AbstractBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.resolver.dns.DnsServerAddressStreamProviders;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.EventExecutorGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ImmediateEventExecutor;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.data.redis.connection.RedisConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceClientConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.connection.lettuce.RedisCredentialsProviderFactory;
import org.springframework.data.redis.core.ReactiveStringRedisTemplate;
import reactor.core.Disposable;
import reactor.core.Disposables;
import reactor.core.publisher.Flux;
import reactor.core.scheduler.Schedulers;

/**
 * One Redis connection per HTTP event loop, registered on that loop, for the scripts a request
 * runs: the command leaves and its reply arrives on the request's own thread, with no hand-off to
 * Lettuce's I/O thread and back (two thread wake-ups per script, a good part of a request's cost on
 * a small machine). Calls from any other thread, and from a loop whose connection is not up yet,
 * use the shared connection.
 *
 * <p>Each loop's connection has a Lettuce client of its own whose only event loop is that loop, so
 * that reconnecting keeps it there. It is opened from a thread of its own, at once and then every
 * second until it is open (Redis may be down at start-up), never from the loop itself: opening it
 * on its own loop would wait for that loop, forever. Start-up does not wait for it.
 */
final class LoopLocalRedis implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(LoopLocalRedis.class);
  private static final Duration RETRY_EVERY = Duration.ofSeconds(1);

  private final ScriptConnection shared;
  private final EventLoop[] loops;
  private final AtomicReferenceArray<ScriptConnection> own;
  private final List<LettuceConnectionFactory> factories;
  private final Disposable retries;
  private final AtomicBoolean warned = new AtomicBoolean();

  private LoopLocalRedis(
      ReactiveStringRedisTemplate shared,
      List<EventLoop> loops,
      List<LettuceConnectionFactory> factories) {
    this.shared = new TemplateScriptConnection(shared);
    this.loops = loops.toArray(EventLoop[]::new);
    this.factories = factories;
    this.own = new AtomicReferenceArray<>(this.loops.length);
    for (LettuceConnectionFactory factory : factories) {
      // one native connection per factory, the one open() hands out (Spring's default, made sure)
      factory.setShareNativeConnection(true);
      factory.afterPropertiesSet();
      factory.start();
    }
    this.retries =
        this.loops.length == 0
            ? Disposables.disposed()
            : Flux.interval(Duration.ZERO, RETRY_EVERY, Schedulers.boundedElastic())
                .takeUntil(tick -> openMissing())
                .subscribe();
  }

  /** Every call on the one shared connection. */
  static LoopLocalRedis sharedOnly(ReactiveStringRedisTemplate shared) {
    return new LoopLocalRedis(shared, List.of(), List.of());
  }

  /**
   * A connection per loop of {@code loops}, configured as {@code base} (the same Redis, Sentinel or
   * Cluster, credentials, TLS, options and client resources); {@code sharedOnly} when {@code base}
   * is a Unix socket (whose channel type another transport's loop may not take) or brings no client
   * resources of its own to share (Spring Boot always does).
   */
  static LoopLocalRedis perLoop(
      EventLoopGroup loops, LettuceConnectionFactory base, ReactiveStringRedisTemplate shared) {
    Optional<RedisConfiguration> configuration = configuration(base);
    Optional<ClientResources> resources = base.getClientConfiguration().getClientResources();
    if (configuration.isEmpty() || resources.isEmpty()) {
      return sharedOnly(shared);
    }
    List<EventLoop> eventLoops = new ArrayList<>();
    List<LettuceConnectionFactory> factories = new ArrayList<>();
    for (EventExecutor executor : loops) {
      if (executor instanceof EventLoop loop) {
        eventLoops.add(loop);
        factories.add(
            new LettuceConnectionFactory(
                configuration.get(),
                new OnOneLoop(base.getClientConfiguration(), resources.get(), loop)));
      }
    }
    return new LoopLocalRedis(shared, eventLoops, factories);
  }

  private static Optional<RedisConfiguration> configuration(LettuceConnectionFactory base) {
    if (base.isClusterAware()) {
      return Optional.of(base.getClusterConfiguration());
    }
    if (base.isRedisSentinelAware()) {
      return Optional.of(base.getSentinelConfiguration());
    }
    if (base.getSocketConfiguration() != null) {
      return Optional.empty();
    }
    return Optional.of(base.getStandaloneConfiguration());
  }

  /** The connection of the calling thread's loop, or the shared one. */
  ScriptConnection current() {
    for (int i = 0; i < loops.length; i++) {
      if (loops[i].inEventLoop()) {
        ScriptConnection loopOwn = own.get(i);
        return loopOwn != null ? loopOwn : shared;
      }
    }
    return shared;
  }

  /** How many loops have a connection of their own, open now. */
  int loopsConnected() {
    int connected = 0;
    for (int i = 0; i < own.length(); i++) {
      connected += own.get(i) != null ? 1 : 0;
    }
    return connected;
  }

  private boolean allReady() {
    return loopsConnected() == loops.length;
  }

  private boolean openMissing() {
    for (int i = 0; i < loops.length; i++) {
      if (own.get(i) == null) {
        own.set(i, open(factories.get(i)));
      }
    }
    return allReady();
  }

  /**
   * Opens the factory's shared connection now, blocking the calling thread (never a loop), or
   * answers null; once open, Lettuce keeps it and reconnects it on its loop. The factory closes it.
   */
  @SuppressWarnings("unchecked")
  private ScriptConnection open(LettuceConnectionFactory factory) {
    try {
      return new LettuceScriptConnection(
          (RedisClusterAsyncCommands<byte[], byte[]>)
              factory.getConnection().getNativeConnection());
    } catch (RuntimeException error) {
      // Retried every second while Redis is down: one warning, then quiet.
      if (warned.compareAndSet(false, true)) {
        log.warn("Redis connections of the event loops not open yet: {}", error.toString());
      } else {
        log.debug("Redis connection of an event loop not open yet: {}", error.toString());
      }
      return null;
    }
  }

  @Override
  public void close() {
    retries.dispose();
    factories.forEach(LettuceConnectionFactory::destroy);
  }

  /** The base configuration with client resources whose only event loop is {@code loop}. */
  private static final class OnOneLoop implements LettuceClientConfiguration {

    private final LettuceClientConfiguration base;
    private final ClientResources resources;

    OnOneLoop(LettuceClientConfiguration base, ClientResources shared, EventLoop loop) {
      this.base = base;
      this.resources =
          shared
              .mutate()
              .eventLoopGroupProvider(new OneLoop(loop))
              .addressResolverGroup(
                  LoopChannels.dnsResolver(loop, DnsServerAddressStreamProviders.platformDefault()))
              .nettyCustomizer(
                  new OnLoopChannels(
                      shared.nettyCustomizer(), LoopChannels.of(loop, SocketChannel.class)))
              .build();
    }

    @Override
    public Optional<ClientResources> getClientResources() {
      return Optional.of(resources);
    }

    @Override
    public boolean isUseSsl() {
      return base.isUseSsl();
    }

    @Override
    public boolean isVerifyPeer() {
      return base.isVerifyPeer();
    }

    @Override
    public SslVerifyMode getVerifyMode() {
      return base.getVerifyMode();
    }

    @Override
    public boolean isStartTls() {
      return base.isStartTls();
    }

    @Override
    public Optional<ClientOptions> getClientOptions() {
      return base.getClientOptions();
    }

    @Override
    public Optional<String> getClientName() {
      return base.getClientName();
    }

    @Override
    public Optional<ReadFrom> getReadFrom() {
      return base.getReadFrom();
    }

    @Override
    public Optional<RedisCredentialsProviderFactory> getRedisCredentialsProviderFactory() {
      return base.getRedisCredentialsProviderFactory();
    }

    @Override
    public Duration getCommandTimeout() {
      return base.getCommandTimeout();
    }

    @Override
    public Duration getShutdownTimeout() {
      return base.getShutdownTimeout();
    }

    @Override
    public Duration getShutdownQuietPeriod() {
      return base.getShutdownQuietPeriod();
    }
  }

  /**
   * Opens the connection with a channel of its loop's transport, and sends the scripts a loop
   * writes in one turn with one write: a turn serves every request whose bytes arrived together,
   * each with a script to send, and a system call per script cost both this process and Redis
   * (which then reads them with one call too). A flush waits at most for the loop's turn to end.
   */
  private record OnLoopChannels(NettyCustomizer base, Class<? extends SocketChannel> channelType)
      implements NettyCustomizer {

    @Override
    public void afterBootstrapInitialized(Bootstrap bootstrap) {
      base.afterBootstrapInitialized(bootstrap);
      if (Transports.socketChannelClass() != channelType) {
        useChannel(bootstrap, channelType);
      }
    }

    /**
     * Lettuce has set its channel type already, and a bootstrap takes one only once: the one set is
     * cleared first. Should that fail (another Netty), the connection does not open, and the loop
     * keeps using the shared connection.
     */
    private static void useChannel(Bootstrap bootstrap, Class<? extends SocketChannel> type) {
      try {
        Field factory = AbstractBootstrap.class.getDeclaredField("channelFactory");
        factory.setAccessible(true);
        factory.set(bootstrap, null);
      } catch (ReflectiveOperationException | RuntimeException error) {
        throw new IllegalStateException("cannot open a " + type.getSimpleName(), error);
      }
      bootstrap.channel(type);
    }

    @Override
    public void afterChannelInitialized(Channel channel) {
      base.afterChannelInitialized(channel);
      channel
          .pipeline()
          .addFirst(
              new FlushConsolidationHandler(
                  FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, true));
    }
  }

  /** Lettuce's event loops, here the one HTTP loop; the HTTP server shuts it down, not Lettuce. */
  private record OneLoop(EventLoop loop) implements EventLoopGroupProvider {

    @Override
    @SuppressWarnings("unchecked")
    public <T extends EventLoopGroup> T allocate(Class<T> type) {
      return (T) loop;
    }

    @Override
    public int threadPoolSize() {
      return 1;
    }

    @Override
    public Future<Boolean> release(
        EventExecutorGroup group, long quietPeriod, long timeout, TimeUnit unit) {
      return ImmediateEventExecutor.INSTANCE.newSucceededFuture(true);
    }

    @Override
    public Future<Boolean> shutdown(long quietPeriod, long timeout, TimeUnit unit) {
      return ImmediateEventExecutor.INSTANCE.newSucceededFuture(true);
    }
  }
}
