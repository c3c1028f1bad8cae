package org.chatglm4j.server;

import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.NetworkConnectionLimit;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The connection-level limits of {@link ServerLimits}, with Jetty's own facilities: a cap on open connections
 * ({@link NetworkConnectionLimit}: beyond it Jetty stops accepting until one closes), an idle timeout, minimum data
 * rates for request bodies and responses, and a deadline for the first request head of a new connection, which
 * closes connections that trickle their headers in (slowloris).
 */
final class ClientLimits {
    private ClientLimits() {
    }

    static void apply(Server jetty, ServerConnector connector, HttpConfiguration http, ServerLimits limits,
                      ScheduledExecutorService scheduler) {
        jetty.addBean(new NetworkConnectionLimit(limits.maxConnections(), connector));
        connector.setIdleTimeout(limits.idleTimeout().toMillis());
        http.setMinRequestDataRate(limits.minDataRate());
        http.setMinResponseDataRate(limits.minDataRate());
        long headerMillis = limits.headerTimeout().toMillis();
        connector.addEventListener(new Connection.Listener() {
            @Override
            public void onOpened(Connection c) {
                scheduler.schedule(() -> {
                    // no complete request head yet: a slow (or silent) client holding a connection open
                    if (c.getMessagesIn() <= 0 && c.getEndPoint().isOpen()) c.getEndPoint().close();
                }, headerMillis, TimeUnit.MILLISECONDS);
            }
        });
    }
}
