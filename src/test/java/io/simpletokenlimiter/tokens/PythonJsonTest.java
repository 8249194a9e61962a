package io.simpletokenlimiter.tokens;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

/** Expected texts are what CPython 3's {@code json.dumps(..., ensure_ascii=False)} prints. */
class PythonJsonTest {

  private static final JsonMapper JSON = JsonMapper.shared();

  @Test
  void writesPythonSeparatorsWithoutIndent() {
    String json = "{\"a\":1,\"b\":[true,false,null],\"c\":{},\"d\":[],\"e\":\"x\"}";

    assertThat(PythonJson.dumps(JSON.readTree(json)))
        .isEqualTo("{\"a\": 1, \"b\": [true, false, null], \"c\": {}, \"d\": [], \"e\": \"x\"}");
  }

  @Test
  void writesOneItemPerLineWithIndent() {
    StringBuilder out = new StringBuilder();

    PythonJson.dumps(JSON.readTree("{\"a\":{\"b\":[1,2],\"c\":{}},\"d\":[]}"), 4, out);

    assertThat(out.toString())
        .isEqualTo(
            """
            {
                "a": {
                    "b": [
                        1,
                        2
                    ],
                    "c": {}
                },
                "d": []
            }""");
  }

  @Test
  void escapesLikePythonAndKeepsNonAscii() {
    assertThat(PythonJson.quote("q\"b\\n\nr\rt\tb\bf\fc\u0001d\u007f 한국어 👍"))
        .isEqualTo("\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001d\u007f 한국어 👍\"");
  }

  @ParameterizedTest
  @CsvSource({
    "1.0, 1.0",
    "21.5, 21.5",
    "-0.5, -0.5",
    "0.0001, 0.0001",
    "0.00001, 1e-05",
    "1.5e-7, 1.5e-07",
    "1e16, 1e+16",
    "123456789012345.0, 123456789012345.0",
    "2.5e20, 2.5e+20",
    "-1e100, -1e+100",
    "0.1, 0.1"
  })
  void writesFloatsAsPythonRepr(double value, String python) {
    assertThat(PythonJson.pythonFloat(value)).isEqualTo(python);
  }

  @Test
  void writesSpecialFloats() {
    assertThat(PythonJson.pythonFloat(0.0)).isEqualTo("0.0");
    assertThat(PythonJson.pythonFloat(-0.0)).isEqualTo("-0.0");
    assertThat(PythonJson.pythonFloat(Double.NaN)).isEqualTo("NaN");
    assertThat(PythonJson.pythonFloat(Double.NEGATIVE_INFINITY)).isEqualTo("-Infinity");
    assertThat(PythonJson.dumps(JSON.readTree("[1.0, 12345678901234567890]")))
        .isEqualTo("[1.0, 12345678901234567890]");
  }
}
