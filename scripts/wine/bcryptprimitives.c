/* A stand-in for Windows' bcryptprimitives.dll, for Debian's Wine 8, which has none.
 *
 * Rust's standard library (1.78 and later) imports ProcessPrng from bcryptprimitives.dll
 * and calls it at start (HashMap keys) and for every random number it needs: without the
 * DLL no Rust program starts under that Wine. This one forwards to RtlGenRandom
 * (SystemFunction036 in advapi32), which Wine has. Built and installed into the test
 * prefix by scripts/wine/setup.sh; never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, n))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
