#ifndef CRDKAFKA_SHIM_H
#define CRDKAFKA_SHIM_H
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/*
 * Typed wrappers for librdkafka's variadic calls and macros, which Swift cannot
 * call directly. Only BridgeKafka imports this module.
 */

/** Produces one message with a key and headers; librdkafka copies key, value and takes the headers. */
static inline rd_kafka_resp_err_t crdkafka_producev(rd_kafka_t *rk, const char *topic, int32_t partition,
                                                    const void *value, size_t value_len,
                                                    const void *key, size_t key_len,
                                                    rd_kafka_headers_t *headers) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_END);
}

/** RD_KAFKA_PARTITION_UA as a plain value. */
static inline int32_t crdkafka_partition_unassigned(void) { return RD_KAFKA_PARTITION_UA; }

/** RD_KAFKA_OFFSET_INVALID (-1001) as int64. */
static inline int64_t crdkafka_offset_invalid(void) { return RD_KAFKA_OFFSET_INVALID; }

/** Element i of a topic-partition list (Swift cannot index the C array member safely). */
static inline rd_kafka_topic_partition_t *crdkafka_tpl_elem(rd_kafka_topic_partition_list_t *list, int i) {
    return &list->elems[i];
}

/** The broker-assigned timestamp of a message, or -1; type ignored. */
static inline int64_t crdkafka_message_timestamp(const rd_kafka_message_t *m) {
    rd_kafka_timestamp_type_t type;
    return rd_kafka_message_timestamp(m, &type);
}

#endif
