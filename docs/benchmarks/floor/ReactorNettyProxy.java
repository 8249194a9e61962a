import io.netty.buffer.ByteBuf;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.ConnectionProvider;

/**
 * A floor, not a product: the least a proxy on Reactor Netty (the service's stack) does. The whole
 * body in, one call to the fake vLLM from a connection pool, the whole answer out. Run with the jars
 * of the service's BOOT-INF/lib on the class path: {@code java -Dreactor.netty.ioWorkerCount=1 -cp
 * ... ReactorNettyProxy.java 18005}. One loop: the pooled connection then lives on the loop that
 * serves the client, as the service's per-loop clients do.
 */
public class ReactorNettyProxy {

  public static void main(String[] args) {
    HttpClient vllm =
        HttpClient.create(ConnectionProvider.create("vllm", 100))
            .baseUrl("http://127.0.0.1:18000")
            .headers(headers -> headers.set("content-type", "application/json"));
    HttpServer.create()
        .port(Integer.parseInt(args[0]))
        .route(
            routes ->
                routes.post(
                    "/api/v1/chat/completions",
                    (request, response) ->
                        request
                            .receive()
                            .aggregate()
                            .retain()
                            .flatMap(
                                body ->
                                    vllm.post()
                                        .uri("/v1/chat/completions")
                                        .send(Mono.just(body))
                                        .responseSingle((status, answer) -> answer.retain()))
                            .flatMap(
                                (ByteBuf answer) ->
                                    response
                                        .header("content-type", "application/json")
                                        .send(Mono.just(answer))
                                        .then())))
        .bindNow()
        .onDispose()
        .block();
  }
}
