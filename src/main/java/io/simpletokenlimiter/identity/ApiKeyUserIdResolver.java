package io.simpletokenlimiter.identity;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.springframework.http.HttpHeaders;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * API-key mode, for deployments without a gateway: the caller sends {@code Authorization: Bearer
 * <key>} (what every OpenAI SDK sends as its API key) and the key names the user; {@code X-User-ID}
 * is ignored. Only SHA-256 hashes of the keys are kept, in a YAML file:
 *
 * <pre>
 * keys:
 *   # printf %s "$KEY" | sha256sum
 *   9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08: alice
 *   # a key that may also call the admin API
 *   60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752: {user: ops, admin: true}
 *   # a key whose user belongs to a team of the overrides file
 *   2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae: {user: carol, team: research}
 * </pre>
 */
public final class ApiKeyUserIdResolver implements UserIdResolver {

  private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
  private static final String BEARER = "Bearer ";

  private final Map<String, String> usersByKeyHash;
  private final Set<String> adminKeyHashes;

  public ApiKeyUserIdResolver(Map<String, String> usersByKeyHash) {
    this(usersByKeyHash, Set.of());
  }

  /**
   * {@code adminKeyHashes}: the keys, among {@code usersByKeyHash}, that may call the admin API.
   */
  public ApiKeyUserIdResolver(Map<String, String> usersByKeyHash, Set<String> adminKeyHashes) {
    this.usersByKeyHash = Map.copyOf(usersByKeyHash);
    this.adminKeyHashes = Set.copyOf(adminKeyHashes);
  }

  /** Loads the key file; a missing or malformed file stops start-up with a clear message. */
  public static ApiKeyUserIdResolver fromFile(Path path) {
    try {
      Map<String, String> users = new HashMap<>();
      Set<String> admins = new HashSet<>();
      parse(Files.readString(path), users, admins, new HashMap<>());
      return new ApiKeyUserIdResolver(users, admins);
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "token.limit.api-keys-file " + path + " cannot be used: " + e.getMessage(), e);
    }
  }

  /** The team of each user whose key names one; read once at start-up, as the keys are. */
  public static Map<String, String> teamsIn(Path path) {
    try {
      Map<String, String> teams = new HashMap<>();
      parse(Files.readString(path), new HashMap<>(), new HashSet<>(), teams);
      return Map.copyOf(teams);
    } catch (IOException | IllegalArgumentException e) {
      throw new IllegalStateException(
          "token.limit.api-keys-file " + path + " cannot be used: " + e.getMessage(), e);
    }
  }

  static Map<String, String> parse(String yamlText) {
    Map<String, String> users = new HashMap<>();
    parse(yamlText, users, new HashSet<>(), new HashMap<>());
    return users;
  }

  /**
   * Fills {@code users} (key hash to user), {@code admins} (hashes of admin keys) and {@code teams}
   * (user to team, for keys that name one).
   */
  static void parse(
      String yamlText, Map<String, String> users, Set<String> admins, Map<String, String> teams) {
    Object document = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
    if (!(document instanceof Map<?, ?> root) || !(root.get("keys") instanceof Map<?, ?> keys)) {
      throw new IllegalArgumentException("expected a mapping 'keys' of key hashes to user ids");
    }
    keys.forEach(
        (hash, entry) -> {
          String hex = String.valueOf(hash).toLowerCase(Locale.ROOT);
          if (!SHA256_HEX.matcher(hex).matches()) {
            throw new IllegalArgumentException(
                "'" + hash + "' is not the hex SHA-256 of a key (64 hex digits)");
          }
          Object user = entry;
          if (entry instanceof Map<?, ?> fields) {
            if (!Set.of("user", "admin", "team").containsAll(fields.keySet())) {
              throw new IllegalArgumentException(
                  "key " + hex.substring(0, 8) + "... may have only 'user', 'admin' and 'team'");
            }
            Object admin = fields.containsKey("admin") ? fields.get("admin") : Boolean.FALSE;
            if (!(admin instanceof Boolean isAdmin)) {
              throw new IllegalArgumentException(
                  "'admin' of key " + hex.substring(0, 8) + "... must be true or false");
            }
            if (isAdmin) {
              admins.add(hex);
            }
            user = fields.get("user");
          }
          if (!(user instanceof String id) || !UserId.isValid(id)) {
            throw new IllegalArgumentException(
                "the user of key " + hex.substring(0, 8) + "... must be " + UserId.RULE);
          }
          users.put(hex, id);
          if (entry instanceof Map<?, ?> fields && fields.containsKey("team")) {
            Object team = fields.get("team");
            if (!(team instanceof String name)) {
              throw new IllegalArgumentException(
                  "'team' of key " + hex.substring(0, 8) + "... must be a team's name");
            }
            String earlier = teams.putIfAbsent(id, name);
            if (earlier != null && !earlier.equals(name)) {
              throw new IllegalArgumentException(
                  "user "
                      + id
                      + " is in team "
                      + earlier
                      + " by one key and "
                      + name
                      + " by another");
            }
          }
        });
  }

  @Override
  public String resolve(ServerHttpRequest request) {
    List<String> given = request.getHeaders().getOrEmpty(HttpHeaders.AUTHORIZATION);
    if (given.size() > 1) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.MULTIPLE_API_KEYS,
          "Send exactly one Authorization header");
    }
    String authorization = given.isEmpty() ? null : given.get(0);
    if (authorization == null
        || !authorization.startsWith(BEARER)
        || authorization.length() == BEARER.length()) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.MISSING_API_KEY,
          "Send your API key as 'Authorization: Bearer <key>'");
    }
    String user = usersByKeyHash.get(hash(authorization.substring(BEARER.length())));
    if (user == null) {
      throw new UnidentifiedUserException(
          UnidentifiedUserException.Reason.INVALID_API_KEY, "The API key is not valid");
    }
    return user;
  }

  /** Whether the request carries a key of this file marked {@code admin: true}. */
  @Override
  public boolean isAdminKey(ServerHttpRequest request) {
    String authorization = request.getHeaders().getFirst(HttpHeaders.AUTHORIZATION);
    return authorization != null
        && authorization.startsWith(BEARER)
        && adminKeyHashes.contains(hash(authorization.substring(BEARER.length())));
  }

  @Override
  public boolean authenticates() {
    return true;
  }

  /** The form a key is stored in: lower-case hex SHA-256 of its UTF-8 bytes. */
  public static String hash(String key) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }
}
