import io.netty.buffer.Unpooled;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A floor, not a product: the least a Spring Boot WebFlux application on the service's own class
 * path does. One functional route reads the whole body, calls the fake vLLM through Reactor Netty's
 * pooled client and answers with its whole body; Boot's auto-configuration (actuator, Micrometer,
 * its request observation) is on, as it is for any Boot service. Run with the jars of the service's
 * BOOT-INF/lib on the class path: {@code java -cp ... SpringWebFluxProxy.java --server.port=18007}.
 */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
public class SpringWebFluxProxy {

  public static void main(String[] args) {
    SpringApplication.run(SpringWebFluxProxy.class, args);
  }

  @Bean
  RouterFunction<ServerResponse> completions() {
    HttpClient vllm =
        HttpClient.create(ConnectionProvider.create("vllm", 100))
            .baseUrl("http://127.0.0.1:18000")
            .headers(headers -> headers.set("content-type", "application/json"));
    return RouterFunctions.route()
        .POST(
            "/api/v1/chat/completions",
            request ->
                request
                    .bodyToMono(byte[].class)
                    .flatMap(
                        body ->
                            vllm.post()
                                .uri("/v1/chat/completions")
                                .send(Mono.just(Unpooled.wrappedBuffer(body)))
                                .responseSingle((status, answer) -> answer.asByteArray()))
                    .flatMap(
                        answer ->
                            ServerResponse.ok()
                                .contentType(MediaType.APPLICATION_JSON)
                                .bodyValue(answer)))
        .build();
  }
}
