# Toolchain for the service-VM unikernel: aarch64-linux-gnu-gcc with
# picolibc (Debian: gcc-aarch64-linux-gnu, picolibc-aarch64-linux-gnu).
# Bare metal: no PIE, static, our own entry (arch/aarch64/src/start.S)
# instead of picolibc's crt0, which would touch memory with the MMU off.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")
set(CMAKE_SIZE aarch64-linux-gnu-size CACHE FILEPATH "")

# Integer-only printf/scanf (no float code in the image); the specs file
# turns the same -D into the vfprintf alias at link time.
set(UV_AARCH64_FLAGS
    "--specs=picolibc.specs -DPICOLIBC_INTEGER_PRINTF_SCANF -march=armv8-a+crc \
-mgeneral-regs-only -fno-pie -fno-stack-protector -ffunction-sections -fdata-sections \
-fno-asynchronous-unwind-tables -fno-unwind-tables")
set(CMAKE_C_FLAGS_INIT "${UV_AARCH64_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${UV_AARCH64_FLAGS}")
# CMAKE_C_FLAGS (with the specs and the printf choice) reach the link too.
set(CMAKE_EXE_LINKER_FLAGS_INIT
    "-nostartfiles -static -no-pie")

# try_compile cannot link without our linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
