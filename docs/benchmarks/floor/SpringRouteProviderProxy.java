import io.netty.buffer.ByteBuf;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.reactor.netty.NettyRouteProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A floor, not a product: the Spring Boot WebFlux application of {@code SpringWebFluxProxy.java},
 * with the completions request taken on Reactor Netty's own routes ahead of Spring (Boot's {@code
 * NettyRouteProvider}), as {@code ReactorNettyProxy.java} takes it; every other request still
 * goes to Spring. Run as {@code SpringWebFluxProxy.java} is: {@code java -cp ...
 * SpringRouteProviderProxy.java --server.port=18009}.
 */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
public class SpringRouteProviderProxy {

  public static void main(String[] args) {
    SpringApplication.run(SpringRouteProviderProxy.class, args);
  }

  @Bean
  NettyRouteProvider completions() {
    HttpClient vllm =
        HttpClient.create(ConnectionProvider.create("vllm", 100))
            .baseUrl("http://127.0.0.1:18000")
            .headers(headers -> headers.set("content-type", "application/json"));
    return routes ->
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
                                .then()));
  }
}
