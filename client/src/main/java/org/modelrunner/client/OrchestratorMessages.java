package org.modelrunner.client;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.modelrunner.spi.ModelEndpoint;
import org.modelrunner.spi.ModelState;

/**
 * Reads and writes the Model Orchestrator's WebSocket messages, and makes the URL of a crunch
 * (PROTOCOL.md §3). Pure functions: nothing here logs or throws on bad input from the orchestrator;
 * problems are returned for the caller to log. Only {@link #url} throws, on a directory's
 * configuration.
 */
final class OrchestratorMessages {
  static final ObjectMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  /** How much of a bad frame a log message shows. */
  static final int EXCERPT = 200;

  /**
   * The address given to a stopped or recovering entry without a usable ip/port (null while the
   * model has no running task): such entries match the deployment the client holds by id, and are
   * never called.
   */
  static final URI NO_ADDRESS = URI.create("grpc://0.0.0.0:0");

  private OrchestratorMessages() {}

  enum Kind {
    /** The full snapshot: {@code {"event":"init","data":[...]}}. */
    INIT,
    /** Some deployments changed: {@code {"event":"update","data":[...]}}. */
    UPDATE,
    /** The orchestrator refused the connection: {@code {"error":"..."}}. */
    ERROR,
    /** Anything else: to be logged and ignored. */
    INVALID
  }

  /**
   * One parsed entry.
   *
   * @param endpoint the deployment
   * @param state its state
   * @param modelId the model id as the orchestrator sent it (a string or a number), for reports
   * @param ip the {@code ip} as sent (a string, or JSON null), for reports; Java null when the
   *     entry had none
   */
  record Entry(ModelEndpoint endpoint, ModelState state, JsonNode modelId, JsonNode ip) {}

  /**
   * One parsed frame.
   *
   * @param kind what it is
   * @param entries the usable entries of an init or update (empty otherwise)
   * @param problems why entries were skipped, or why the frame is invalid; each a sentence for a
   *     log
   * @param error the orchestrator's error text, for {@link Kind#ERROR}
   */
  record Message(Kind kind, List<Entry> entries, List<String> problems, String error) {
    static Message invalid(String why) {
      return new Message(Kind.INVALID, List.of(), List.of(why), null);
    }
  }

  /** Parses one complete text message. Never throws. */
  static Message parse(String text) {
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      // Jackson's message quotes the frame: only say where it went wrong.
      long at = e.getLocation() == null ? -1 : e.getLocation().getCharOffset();
      return Message.invalid(at < 0 ? "not JSON" : "not JSON (unreadable at character " + at + ")");
    } catch (RuntimeException e) {
      return Message.invalid("not JSON (" + e.getClass().getSimpleName() + ")");
    }
    if (root == null || root.isMissingNode()) {
      return Message.invalid("not JSON (empty)");
    }
    if (!root.isObject()) {
      return Message.invalid("not a JSON object");
    }
    JsonNode event = root.get("event");
    if (event == null || event.isNull()) {
      if (root.has("error")) {
        JsonNode error = root.get("error");
        return new Message(
            Kind.ERROR,
            List.of(),
            List.of(),
            error.isTextual() ? error.textValue() : error.toString());
      }
      return Message.invalid("no \"event\"");
    }
    if (!event.isTextual()) {
      return Message.invalid("\"event\" is not a string");
    }
    Kind kind;
    switch (event.textValue()) {
      case "init" -> kind = Kind.INIT;
      case "update" -> kind = Kind.UPDATE;
      default -> {
        return Message.invalid("unknown event '" + event.textValue() + "'");
      }
    }
    JsonNode data = root.get("data");
    if (data == null || !data.isArray()) {
      return Message.invalid("\"data\" is not a list");
    }
    List<Entry> entries = new ArrayList<>(data.size());
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < data.size(); i++) {
      Entry entry = entry(data.get(i), i, problems);
      if (entry != null) {
        entries.add(entry);
      }
    }
    return new Message(kind, List.copyOf(entries), List.copyOf(problems), null);
  }

  /** Parses one entry, or adds a problem and returns null. */
  static Entry entry(JsonNode node, int index, List<String> problems) {
    if (node == null || !node.isObject()) {
      problems.add("entry " + index + " is not an object: " + excerpt(String.valueOf(node)));
      return null;
    }
    List<String> missing = new ArrayList<>();
    List<String> invalid = new ArrayList<>();

    JsonNode modelIdNode = node.get("model_id");
    String modelId = null;
    if (absent(modelIdNode)) {
      missing.add("model_id");
    } else if (modelIdNode.isTextual() && !modelIdNode.textValue().isBlank()) {
      modelId = modelIdNode.textValue();
    } else if (modelIdNode.isIntegralNumber()) {
      modelId = modelIdNode.bigIntegerValue().toString();
    } else {
      invalid.add("model_id " + modelIdNode + " (a non-blank string or an integer)");
    }

    JsonNode deploymentNode = node.get("deployment_id");
    String deploymentId = null;
    if (absent(deploymentNode)) {
      missing.add("deployment_id");
    } else if (deploymentNode.isTextual() && !deploymentNode.textValue().isBlank()) {
      deploymentId = deploymentNode.textValue();
    } else if (deploymentNode.isIntegralNumber()) {
      deploymentId = deploymentNode.bigIntegerValue().toString();
    } else if (deploymentNode.isNumber()) {
      deploymentId = deploymentNode.asText();
    } else {
      invalid.add("deployment_id " + deploymentNode + " (a non-blank string or a number)");
    }

    JsonNode stateNode = node.get("state");
    ModelState state = null;
    boolean unknownState = false;
    if (absent(stateNode)) {
      missing.add("state");
    } else if (stateNode.isTextual()) {
      switch (stateNode.textValue()) {
        case "RUNNING" -> state = ModelState.RUNNING;
        case "STOPPED" -> state = ModelState.STOPPED;
        case "RECOVERING" -> state = ModelState.RECOVERING;
        default -> unknownState = true;
      }
    } else {
      unknownState = true;
    }

    // Only RUNNING needs an address: RECOVERING carries a null ip while the model has no task,
    // STOPPED
    // placeholders. An unknown state: the state problem is reported instead.
    boolean needsAddress = state == ModelState.RUNNING;
    JsonNode ipNode = node.get("ip");
    JsonNode portNode = node.get("port");
    if (needsAddress) {
      if (absent(ipNode)) {
        missing.add("ip");
      }
      if (absent(portNode)) {
        missing.add("port");
      }
    }

    String what = describe(node, modelId, deploymentId, index);
    if (!missing.isEmpty() || !invalid.isEmpty()) {
      StringBuilder problem = new StringBuilder(what).append(" skipped:");
      if (!missing.isEmpty()) {
        problem.append(" missing ").append(String.join(", ", missing));
      }
      if (!invalid.isEmpty()) {
        problem
            .append(missing.isEmpty() ? " invalid " : "; invalid ")
            .append(String.join(", ", invalid));
      }
      problems.add(problem.toString());
      return null;
    }
    if (unknownState) {
      problems.add(what + " skipped: unknown state " + stateNode);
      return null;
    }

    String ip = ipNode != null && ipNode.isTextual() ? ipNode.textValue() : "";
    int port = port(portNode);
    URI address = address(ip, port);
    if (address == null) {
      if (state != ModelState.RUNNING) {
        address = NO_ADDRESS;
      } else {
        problems.add(
            what
                + " skipped: no usable address (ip "
                + (ipNode == null ? "missing" : ipNode.toString())
                + ", port "
                + (portNode == null ? "missing" : portNode.toString())
                + ")");
        return null;
      }
    }

    Map<String, String> infos = new LinkedHashMap<>();
    JsonNode infosNode = node.get("infos");
    if (infosNode != null && infosNode.isObject()) {
      for (Map.Entry<String, JsonNode> field : infosNode.properties()) {
        infos.put(field.getKey(), infoText(field.getValue()));
      }
    } else if (!absent(infosNode)) {
      problems.add(what + ": infos ignored, not an object: " + excerpt(infosNode.toString()));
    }

    JsonNode announcedIp = ipNode == null || ipNode.isMissingNode() ? null : ipNode;
    return new Entry(
        new ModelEndpoint(modelId, deploymentId, address, infos), state, modelIdNode, announcedIp);
  }

  private static boolean absent(JsonNode node) {
    return node == null || node.isNull() || node.isMissingNode();
  }

  private static String describe(JsonNode node, String modelId, String deploymentId, int index) {
    if (deploymentId != null) {
      return "entry " + index + " (deployment " + deploymentId + ")";
    }
    if (modelId != null) {
      return "entry " + index + " (model " + modelId + ")";
    }
    return "entry " + index + " " + excerpt(node.toString());
  }

  /** A port number or numeric string in 1..65535, or -1. */
  static int port(JsonNode node) {
    if (node == null) {
      return -1;
    }
    long value;
    if (node.isNumber()) {
      if (!node.canConvertToExactIntegral() || !node.canConvertToLong()) {
        return -1;
      }
      value = node.longValue();
    } else if (node.isTextual()) {
      try {
        value = Long.parseLong(node.textValue().trim());
      } catch (NumberFormatException e) {
        return -1;
      }
    } else {
      return -1;
    }
    return value >= 1 && value <= 65535 ? (int) value : -1;
  }

  /** {@code grpc://ip:port} (IPv6 literals bracketed), or null if the ip or port is unusable. */
  static URI address(String ip, int port) {
    if (ip == null || ip.isEmpty() || port < 1) {
      return null;
    }
    for (int i = 0; i < ip.length(); i++) {
      char c = ip.charAt(i);
      if (c <= ' '
          || c == '/'
          || c == '?'
          || c == '#'
          || c == '@'
          || c == '\\'
          || Character.isWhitespace(c)) {
        return null;
      }
    }
    String host = ip.contains(":") && !ip.startsWith("[") ? "[" + ip + "]" : ip;
    try {
      URI uri = new URI("grpc://" + host + ":" + port);
      return uri.getRawAuthority() == null
              || uri.getRawPath() == null
              || !uri.getRawPath().isEmpty()
          ? null
          : uri;
    } catch (URISyntaxException e) {
      return null;
    }
  }

  private static String infoText(JsonNode value) {
    if (value == null || value.isNull()) {
      return null;
    }
    if (value.isTextual()) {
      return value.textValue();
    }
    return value.isValueNode() ? value.asText() : value.toString();
  }

  /**
   * The report the orchestrator acts on: exactly {@code
   * {"event":"report_failure","data":[{"model_id":..,"failure_code":..,"failure_reason":..,"ip":..}]}}.
   *
   * @param modelId the model id with the JSON type the orchestrator used for it
   * @param ip the ip as the orchestrator announced it (a string or JSON null)
   */
  static String report(JsonNode modelId, String failureCode, String reason, JsonNode ip) {
    ObjectNode message = JSON.createObjectNode();
    message.put("event", "report_failure");
    ObjectNode report = message.putArray("data").addObject();
    report.set("model_id", modelId);
    report.put("failure_code", failureCode);
    report.put("failure_reason", reason);
    report.set("ip", ip);
    return message.toString();
  }

  /** The model id as a JSON string. */
  static JsonNode text(String modelId) {
    return TextNode.valueOf(modelId);
  }

  /** The host of an address, without IPv6 brackets ({@code ""} if it has none). */
  static String host(URI address) {
    String host = address.getHost();
    if (host == null) {
      String authority = address.getRawAuthority();
      if (authority == null) {
        return "";
      }
      int at = authority.lastIndexOf('@');
      host = authority.substring(at + 1);
      int colon = host.lastIndexOf(':');
      if (colon > host.lastIndexOf(']')) {
        host = host.substring(0, colon);
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    return host;
  }

  /** The first {@value #EXCERPT} characters of a frame, for a log message. */
  static String excerpt(String text) {
    if (text == null) {
      return "null";
    }
    return text.length() <= EXCERPT
        ? text
        : text.substring(0, EXCERPT) + "… (" + text.length() + " chars)";
  }

  /**
   * Returns the URL of a crunch's table: the base URI followed by the crunch id as one path segment
   * ({@code ws://<host>:<port>/<crunch_id>}, no query string).
   *
   * @throws IllegalArgumentException if the base is not a {@code ws}/{@code wss} URI with a host
   *     and without query or fragment, or the crunch id is blank, {@code .} or {@code ..}
   */
  static URI url(URI base, String crunchId) {
    String scheme = base.getScheme() == null ? null : base.getScheme().toLowerCase(Locale.ROOT);
    if (!"ws".equals(scheme) && !"wss".equals(scheme)) {
      throw new IllegalArgumentException("The orchestrator URI must be ws:// or wss://: " + base);
    }
    if (base.isOpaque() || base.getHost() == null) {
      throw new IllegalArgumentException("The orchestrator URI has no host: " + base);
    }
    if (base.getRawQuery() != null || base.getRawFragment() != null) {
      throw new IllegalArgumentException(
          "The orchestrator URI must have no query or fragment: " + base);
    }
    if (crunchId.isBlank()) {
      throw new IllegalArgumentException("The crunch id must not be blank");
    }
    if (crunchId.equals(".") || crunchId.equals("..")) {
      throw new IllegalArgumentException("The crunch id cannot be '" + crunchId + "'");
    }
    String path = base.getRawPath() == null ? "" : base.getRawPath();
    while (path.endsWith("/")) {
      path = path.substring(0, path.length() - 1);
    }
    return URI.create(scheme + "://" + base.getRawAuthority() + path + "/" + pathSegment(crunchId));
  }

  /** Percent-encodes everything but RFC 3986's unreserved characters. */
  private static String pathSegment(String text) {
    StringBuilder encoded = new StringBuilder();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '~') {
        encoded.append((char) c);
      } else {
        encoded
            .append('%')
            .append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return encoded.toString();
  }
}
