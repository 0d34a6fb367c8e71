/* vu/wire.h - the vhost-user wire format, declared once.
 *
 * Owns: request codes (front-end 1-45, back-end 1-10), feature bits, and the
 * packed payload structs with their sizes asserted at compile time.
 * Never: performs I/O or validation (see vu/msg.h for the per-request rules).
 * Used by: every part of vhost/, the transports in arch/, tests and fuzzers.
 * All numbers are in the machine's native byte order, as the spec says.
 */
#ifndef VU_WIRE_H
#define VU_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VU_VERSION 0x1u
#define VU_FLAG_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_REPLY_FLAGS (VU_VERSION | VU_FLAG_REPLY)

#define VU_HDR_SIZE 12u
/* Large enough for the biggest payload: the GET_SHMEM_CONFIG reply (2056). */
#define VU_MAX_PAYLOAD 4096u
/* SET_MEM_TABLE carries the most fds of any request. */
#define VU_MAX_FDS 8u
#define VU_MEM_TABLE_MAX_REGIONS 8u
#define VU_CONFIG_MAX 256u
#define VU_SHMEM_MAX_REGIONS 256u

/* KICK/CALL/ERR payload: ring index in bits 0-7, "no fd" in bit 8. */
#define VU_VRING_IDX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)
/* uvhost's DOORBELL protocol feature (docs/vsock-transport.md §4.1): with
 * NOFD, bit 9 says the ring's kick (or call) is a doorbell vector of the
 * service VM's ivshmem-doorbell device number `device`: a kick is the
 * interrupt of the VM's own `vector`; a call is a write of
 * `peer << 16 | vector` to the device's doorbell register. */
#define VU_VRING_DOORBELL (1u << 9)
#define VU_VRING_DB_VECTOR_SHIFT 16u
#define VU_VRING_DB_PEER_SHIFT 32u
#define VU_VRING_DB_DEVICE_SHIFT 48u
#define VU_VRING_DB_BITS                                                                           \
	(VU_VRING_DOORBELL | 0xffffull << VU_VRING_DB_VECTOR_SHIFT |                               \
	 0xffffull << VU_VRING_DB_PEER_SHIFT | 0xffull << VU_VRING_DB_DEVICE_SHIFT)
#define VU_VRING_DB_VECTOR(v) ((uint32_t)((v) >> VU_VRING_DB_VECTOR_SHIFT) & 0xffffu)
#define VU_VRING_DB_PEER(v) ((uint32_t)((v) >> VU_VRING_DB_PEER_SHIFT) & 0xffffu)
#define VU_VRING_DB_DEVICE(v) ((uint32_t)((v) >> VU_VRING_DB_DEVICE_SHIFT) & 0xffu)

enum vu_request {
	VU_REQ_NONE = 0,
	VU_REQ_GET_FEATURES = 1,
	VU_REQ_SET_FEATURES = 2,
	VU_REQ_SET_OWNER = 3,
	VU_REQ_RESET_OWNER = 4,
	VU_REQ_SET_MEM_TABLE = 5,
	VU_REQ_SET_LOG_BASE = 6,
	VU_REQ_SET_LOG_FD = 7,
	VU_REQ_SET_VRING_NUM = 8,
	VU_REQ_SET_VRING_ADDR = 9,
	VU_REQ_SET_VRING_BASE = 10,
	VU_REQ_GET_VRING_BASE = 11,
	VU_REQ_SET_VRING_KICK = 12,
	VU_REQ_SET_VRING_CALL = 13,
	VU_REQ_SET_VRING_ERR = 14,
	VU_REQ_GET_PROTOCOL_FEATURES = 15,
	VU_REQ_SET_PROTOCOL_FEATURES = 16,
	VU_REQ_GET_QUEUE_NUM = 17,
	VU_REQ_SET_VRING_ENABLE = 18,
	VU_REQ_SEND_RARP = 19,
	VU_REQ_NET_SET_MTU = 20,
	VU_REQ_SET_BACKEND_REQ_FD = 21,
	VU_REQ_IOTLB_MSG = 22,
	VU_REQ_SET_VRING_ENDIAN = 23,
	VU_REQ_GET_CONFIG = 24,
	VU_REQ_SET_CONFIG = 25,
	VU_REQ_CREATE_CRYPTO_SESSION = 26,
	VU_REQ_CLOSE_CRYPTO_SESSION = 27,
	VU_REQ_POSTCOPY_ADVISE = 28,
	VU_REQ_POSTCOPY_LISTEN = 29,
	VU_REQ_POSTCOPY_END = 30,
	VU_REQ_GET_INFLIGHT_FD = 31,
	VU_REQ_SET_INFLIGHT_FD = 32,
	VU_REQ_GPU_SET_SOCKET = 33,
	VU_REQ_RESET_DEVICE = 34,
	VU_REQ_VRING_KICK = 35,
	VU_REQ_GET_MAX_MEM_SLOTS = 36,
	VU_REQ_ADD_MEM_REG = 37,
	VU_REQ_REM_MEM_REG = 38,
	VU_REQ_SET_STATUS = 39,
	VU_REQ_GET_STATUS = 40,
	VU_REQ_GET_SHARED_OBJECT = 41,
	VU_REQ_SET_DEVICE_STATE_FD = 42,
	VU_REQ_CHECK_DEVICE_STATE = 43,
	VU_REQ_GET_SHMEM_CONFIG = 44,
	VU_REQ_GET_VRING_BASE_SKIP_DRAIN = 45,
	VU_REQ_MAX
};

enum vu_backend_request {
	VU_BREQ_NONE = 0,
	VU_BREQ_IOTLB_MSG = 1,
	VU_BREQ_CONFIG_CHANGE_MSG = 2,
	VU_BREQ_VRING_HOST_NOTIFIER_MSG = 3,
	VU_BREQ_VRING_CALL = 4,
	VU_BREQ_VRING_ERR = 5,
	VU_BREQ_SHARED_OBJECT_ADD = 6,
	VU_BREQ_SHARED_OBJECT_REMOVE = 7,
	VU_BREQ_SHARED_OBJECT_LOOKUP = 8,
	VU_BREQ_SHMEM_MAP = 9,
	VU_BREQ_SHMEM_UNMAP = 10,
	VU_BREQ_MAX
};

/* Virtio feature bits that the library itself cares about. */
#define VU_F_RING_INDIRECT_DESC 28
#define VU_F_RING_EVENT_IDX 29
#define VU_F_PROTOCOL_FEATURES 30
#define VU_F_VERSION_1 32
#define VU_F_ACCESS_PLATFORM 33
#define VU_F_RING_PACKED 34
#define VU_F_LOG_ALL 26

enum vu_protocol_feature {
	VU_PF_MQ = 0,
	VU_PF_LOG_SHMFD = 1,
	VU_PF_RARP = 2,
	VU_PF_REPLY_ACK = 3,
	VU_PF_NET_MTU = 4,
	VU_PF_BACKEND_REQ = 5,
	VU_PF_CROSS_ENDIAN = 6,
	VU_PF_CRYPTO_SESSION = 7,
	VU_PF_PAGEFAULT = 8,
	VU_PF_CONFIG = 9,
	VU_PF_BACKEND_SEND_FD = 10,
	VU_PF_HOST_NOTIFIER = 11,
	VU_PF_INFLIGHT_SHMFD = 12,
	VU_PF_RESET_DEVICE = 13,
	VU_PF_INBAND_NOTIFICATIONS = 14,
	VU_PF_CONFIGURE_MEM_SLOTS = 15,
	VU_PF_STATUS = 16,
	VU_PF_XEN_MMAP = 17,
	VU_PF_SHARED_OBJECT = 18,
	VU_PF_DEVICE_STATE = 19,
	VU_PF_GET_VRING_BASE_INFLIGHT = 20,
	VU_PF_GPA_ADDRESSES = 21,
	VU_PF_SHMEM = 22,
	VU_PF_GET_VRING_BASE_SKIP_DRAIN = 23,
	/* uvhost's fd-less transport (docs/vsock-transport.md): region
	 * mmap_offset is window-addressed. The top bit keeps out of the way of
	 * the spec's own assignments, which grow from 0. */
	VU_PF_WINDOW_ADDR = 63,
	/* uvhost's fd-less transport: kicks and calls may name doorbell
	 * vectors (VU_VRING_DOORBELL). Next to WINDOW_ADDR, for the same
	 * reason. */
	VU_PF_DOORBELL = 62,
};

/* WINDOW_ADDR: mmap_offset = window << VU_WINDOW_SHIFT | byte offset. */
#define VU_WINDOW_SHIFT 40u
#define VU_WINDOW_OFFSET_MASK ((1ull << VU_WINDOW_SHIFT) - 1)
#define VU_WINDOW_INDEX(off) ((uint32_t)((off) >> VU_WINDOW_SHIFT))
#define VU_WINDOW_OFFSET(off) ((off)&VU_WINDOW_OFFSET_MASK)

/* fd-less SET_BACKEND_REQ_FD: a u64 whose low 32 bits are the vsock port the
 * front-end listens on; the upper bits are 0. VMADDR_PORT_ANY is no port. */
#define VU_BACKEND_PORT_MASK 0xffffffffull
#define VU_VSOCK_PORT_ANY 0xffffffffu

#define VU_BIT(n) (1ull << (n))

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags; /* bit 0: VHOST_VRING_F_LOG */
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;
	uint64_t mmap_offset;
};

struct vu_mem_table_msg {
	uint32_t nregions;
	uint32_t padding;
	struct vu_mem_region regions[VU_MEM_TABLE_MAX_REGIONS];
};

struct vu_mem_single_msg {
	uint64_t padding;
	struct vu_mem_region region;
};

struct vu_log_msg {
	uint64_t size;
	uint64_t offset;
};

struct vu_iotlb_msg {
	uint64_t iova;
	uint64_t size;
	uint64_t uaddr;
	uint8_t perm;
	uint8_t type;
	uint8_t padding[6];
};

struct vu_config_msg {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[VU_CONFIG_MAX];
};
#define VU_CONFIG_HDR_SIZE 12u

struct vu_vring_area_msg {
	uint64_t u64;
	uint64_t size;
	uint64_t offset;
};

struct vu_inflight_msg {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
	uint8_t padding[4]; /* QEMU sends sizeof() of its struct: 24 */
};

struct vu_shmem_map_msg {
	uint8_t shmid;
	uint8_t padding[7];
	uint64_t fd_offset;
	uint64_t shm_offset;
	uint64_t len;
	uint64_t flags; /* bit 0: read-write */
};
#define VU_SHMEM_MAP_RW 1u

struct vu_shmem_config_msg {
	uint32_t nregions;
	uint32_t padding;
	uint64_t sizes[VU_SHMEM_MAX_REGIONS];
};

struct vu_device_state_msg {
	uint32_t direction;
	uint32_t phase;
};

struct vu_msg {
	struct vu_hdr hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_mem_table_msg mem_table;
		struct vu_mem_single_msg mem_single;
		struct vu_log_msg log;
		struct vu_iotlb_msg iotlb;
		struct vu_config_msg config;
		struct vu_vring_area_msg area;
		struct vu_inflight_msg inflight;
		struct vu_shmem_map_msg shmem_map;
		struct vu_shmem_config_msg shmem_config;
		struct vu_device_state_msg device_state;
		uint8_t raw[VU_MAX_PAYLOAD];
	} p;
	/* Out of band: fds that came with (or go with) the message; -1 when unused. */
	int fds[VU_MAX_FDS];
	uint32_t nfds;
};

_Static_assert(sizeof(struct vu_hdr) == VU_HDR_SIZE, "header");
_Static_assert(sizeof(struct vu_vring_state) == 8, "vring state");
_Static_assert(sizeof(struct vu_vring_addr) == 40, "vring addr");
_Static_assert(offsetof(struct vu_vring_addr, desc) == 8, "vring addr desc");
_Static_assert(sizeof(struct vu_mem_region) == 32, "region");
_Static_assert(sizeof(struct vu_mem_table_msg) == 8 + 8 * 32, "mem table");
_Static_assert(sizeof(struct vu_mem_single_msg) == 40, "single region");
_Static_assert(sizeof(struct vu_log_msg) == 16, "log");
_Static_assert(sizeof(struct vu_iotlb_msg) == 32, "iotlb");
_Static_assert(offsetof(struct vu_config_msg, data) == VU_CONFIG_HDR_SIZE, "config");
_Static_assert(sizeof(struct vu_vring_area_msg) == 24, "area");
_Static_assert(sizeof(struct vu_inflight_msg) == 24, "inflight");
_Static_assert(offsetof(struct vu_inflight_msg, num_queues) == 16, "inflight nq");
_Static_assert(sizeof(struct vu_shmem_map_msg) == 40, "shmem map");
_Static_assert(sizeof(struct vu_shmem_config_msg) == 2056, "shmem config");

/* Names for logs and traces; "UNKNOWN" for codes outside the table. */
const char *vu_request_name(uint32_t request);
const char *vu_backend_request_name(uint32_t request);

#endif
