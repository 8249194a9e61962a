# syntax=docker/dockerfile:1
#
# Simple Token Limiter image.
#   docker build -t simple-token-limiter .
#   docker run -p 8080:8080 -e VLLM_URL=http://host.docker.internal:8000 simple-token-limiter
#
# Two stages: the JDK, Maven and its repository stay in the build stage; the runtime image holds
# a JRE and the application, unpacked into Spring Boot's layers so that a code change rebuilds
# only the small application layer.

FROM eclipse-temurin:17-jdk-jammy AS build
WORKDIR /build
COPY .mvn/ .mvn/
COPY mvnw pom.xml ./
# Only the main sources: tests and their fixtures (the Llama 3 tokenizer among them) never enter
# the image, not even the discarded build stage. .dockerignore keeps them out of the context too.
COPY src/main/ src/main/
# The cache mount keeps ~/.m2 (dependencies and the Maven distribution the wrapper fetches)
# between builds without putting it into any layer.
RUN --mount=type=cache,target=/root/.m2 \
    ./mvnw -B -ntp package -DskipTests \
    && java -Djarmode=tools -jar target/simple-token-limiter-*.jar \
        extract --layers --launcher --destination /layers

FROM eclipse-temurin:17-jre-jammy
# A fixed numeric id, so that Kubernetes' runAsNonRoot can check it without a user database.
RUN groupadd --system --gid 10001 limiter \
    && useradd --system --uid 10001 --gid limiter --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin limiter
WORKDIR /app
# Least to most often changed. The files stay owned by root: the service cannot rewrite itself.
COPY --from=build /layers/dependencies/ ./
COPY --from=build /layers/spring-boot-loader/ ./
COPY --from=build /layers/snapshot-dependencies/ ./
COPY --from=build /layers/application/ ./
USER 10001:10001

ENV PORT=8080 \
    JAVA_OPTS="-XX:+UseG1GC -XX:+UseContainerSupport -XX:MaxRAMPercentage=75"
EXPOSE 8080

# bash's /dev/tcp is enough for one GET, whether or not the base image ships curl. Liveness only:
# a model server or Redis outage must not get the container restarted.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD bash -c 'exec 3<>"/dev/tcp/127.0.0.1/${PORT:-8080}" \
        && printf "%s\r\n" "GET /actuator/health/liveness HTTP/1.1" "Host: localhost" \
            "Connection: close" "" >&3 \
        && head -n 1 <&3 | grep -q " 200 "'

# sh only expands JAVA_OPTS, then exec hands PID 1 to the JVM so it receives SIGTERM and shuts
# down gracefully. Arguments after the image name reach Spring Boot (e.g. --server.port=9090).
ENTRYPOINT ["sh", "-c", \
    "exec java $JAVA_OPTS org.springframework.boot.loader.launch.JarLauncher \"$@\"", "--"]
