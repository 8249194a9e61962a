import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.context.ApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpMethod;
import org.springframework.http.MediaType;
import org.springframework.http.server.reactive.HttpHandler;
import org.springframework.web.server.adapter.WebHttpHandlerBuilder;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * A floor, not a product: the Spring Boot WebFlux application of {@code SpringWebFluxProxy.java},
 * with the completions request taken at Spring's {@code HttpHandler}, the first thing Spring calls
 * for a request: on its request and response adapters over Reactor Netty, but before the web
 * handler (exchange, filters, dispatcher, codecs), which every other request still goes through.
 * Run as {@code SpringWebFluxProxy.java} is: {@code java -cp ... SpringHttpHandlerProxy.java
 * --server.port=18008}.
 */
@Configuration(proxyBeanMethods = false)
@EnableAutoConfiguration
public class SpringHttpHandlerProxy {

  public static void main(String[] args) {
    SpringApplication.run(SpringHttpHandlerProxy.class, args);
  }

  @Bean
  HttpHandler httpHandler(ApplicationContext context) {
    HttpHandler spring = WebHttpHandlerBuilder.applicationContext(context).build();
    HttpClient vllm =
        HttpClient.create(ConnectionProvider.create("vllm", 100))
            .baseUrl("http://127.0.0.1:18000")
            .headers(headers -> headers.set("content-type", "application/json"));
    return (request, response) -> {
      if (request.getMethod() != HttpMethod.POST
          || !request.getPath().value().equals("/api/v1/chat/completions")) {
        return spring.handle(request, response);
      }
      return DataBufferUtils.join(request.getBody())
          .flatMap(
              body -> {
                byte[] bytes = new byte[body.readableByteCount()];
                body.read(bytes);
                DataBufferUtils.release(body);
                return vllm.post()
                    .uri("/v1/chat/completions")
                    .send(Mono.just(Unpooled.wrappedBuffer(bytes)))
                    .responseSingle((status, answer) -> answer.retain());
              })
          .flatMap(
              (ByteBuf answer) -> {
                response.getHeaders().setContentType(MediaType.APPLICATION_JSON);
                response.getHeaders().setContentLength(answer.readableBytes());
                NettyDataBufferFactory buffers = (NettyDataBufferFactory) response.bufferFactory();
                return response.writeWith(Mono.just(buffers.wrap(answer)));
              });
    };
  }
}
