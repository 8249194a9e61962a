/**
 * The demo upstream: a stand-in for vLLM built into the service, so that it can be tried on a
 * machine without a GPU. Switched on only by the Spring profile {@code demo}; it listens on
 * 127.0.0.1 on a port of its own (never on the public port, which would bypass the limits), and
 * every answer of the service then says {@code X-Demo-Upstream: true}.
 */
package io.simpletokenlimiter.demo;
