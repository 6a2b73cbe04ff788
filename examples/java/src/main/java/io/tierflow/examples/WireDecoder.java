package io.tierflow.examples;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.util.ClassSecurityValidator;

/**
 * tierflow's framed Avro bytes into one generated record type. Both framings of the contract
 * (docs/contract.md, "Framing"): Avro single-object encoding ({@code C3 01}, the schema's
 * 8-byte CRC-64-AVRO fingerprint, the body), read by Avro's own {@link BinaryMessageDecoder};
 * and the Confluent framing ({@code 00}, a 4-byte big-endian schema id, the body), whose writer
 * schema comes from the registry and is resolved against the generated class's schema.
 */
final class WireDecoder<T> {
    static final String SINGLE_OBJECT = "single-object";
    static final String CONFLUENT = "confluent";
    static final String TIERFLOW_PACKAGE = "io.tierflow.v1";

    static {
        // Avro 1.12 instantiates only classes it trusts, generated ones included (else a
        // SecurityException "Forbidden io.tierflow.v1.LedgerEntry"). The same as
        // -Dorg.apache.avro.SERIALIZABLE_PACKAGES=io.tierflow.v1, without the flag.
        ClassSecurityValidator.setGlobal(
                ClassSecurityValidator.composite(
                        ClassSecurityValidator.getGlobal(),
                        type -> TIERFLOW_PACKAGE.equals(type.getPackageName())));
    }

    private final Schema readerSchema;
    private final SpecificData model; // the generated class's, with its logical-type conversions
    private final BinaryMessageDecoder<T> singleObject;
    private final SchemaRegistry registry; // null: Confluent-framed messages are refused
    private final Map<Integer, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();

    WireDecoder(Class<T> type, Schema readerSchema, SchemaRegistry registry) {
        this.readerSchema = readerSchema;
        this.model = SpecificData.getForClass(type);
        this.singleObject = new BinaryMessageDecoder<>(model, readerSchema);
        this.registry = registry;
    }

    static String framing(byte[] value) {
        if (value != null && value.length >= 10 && value[0] == (byte) 0xC3 && value[1] == 0x01) {
            return SINGLE_OBJECT;
        }
        if (value != null && value.length >= 5 && value[0] == 0) {
            return CONFLUENT;
        }
        return null;
    }

    T decode(byte[] value) throws IOException {
        String framing = framing(value);
        if (SINGLE_OBJECT.equals(framing)) {
            // Checks the header and looks the fingerprint up; a fingerprint of another schema
            // is a MissingSchemaException (tierflow's `unknown_schema`).
            return singleObject.decode(value);
        }
        if (CONFLUENT.equals(framing)) {
            return decodeConfluent(value);
        }
        int length = value == null ? 0 : value.length;
        throw new IOException(
                "bad framing: " + length + " bytes, neither C3 01 + fingerprint nor 00 + id");
    }

    private T decodeConfluent(byte[] value) throws IOException {
        int id = ((value[1] & 0xFF) << 24) | ((value[2] & 0xFF) << 16)
                | ((value[3] & 0xFF) << 8) | (value[4] & 0xFF);
        if (registry == null) {
            throw new IOException(
                    "Confluent-framed message (schema id " + id + ") but no --schema-registry-url");
        }
        SpecificDatumReader<T> reader = readers.get(id);
        if (reader == null) {
            Schema writer = registry.schemaById(id);
            if (!writer.getFullName().equals(readerSchema.getFullName())) {
                throw new IOException(
                        "schema id " + id + " is a " + writer.getFullName() + ", expected "
                                + readerSchema.getFullName());
            }
            reader = new SpecificDatumReader<>(writer, readerSchema, model);
            readers.put(id, reader);
        }
        BinaryDecoder body = DecoderFactory.get().binaryDecoder(value, 5, value.length - 5, null);
        T record = reader.read(null, body);
        if (!body.isEnd()) {
            throw new IOException("trailing bytes after the Avro body (schema id " + id + ")");
        }
        return record;
    }
}
