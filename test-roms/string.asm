; string.asm: string instructions and repeat prefixes.
;
; Instructions: MOVS CMPS SCAS LODS STOS INS OUTS, byte/word/dword forms
; (SDM Vol. 2B "MOVS/MOVSB/MOVSW/MOVSD", Vol. 2A "CMPS/CMPSB/CMPSW/CMPSD",
; Vol. 2B "SCAS/SCASB/SCASW/SCASD", "LODS/LODSB/LODSW/LODSD", "STOS/STOSB/STOSW/STOSD",
; Vol. 2A "INS/INSB/INSW/INSD", Vol. 2B "OUTS/OUTSB/OUTSW/OUTSD") and the prefixes
; (Vol. 2B "REP/REPE/REPZ/REPNE/REPNZ"):
;   - data moved/compared, pointers advanced by 1/2/4 with DF=0 and retreated with
;     DF=1; MOVS LODS STOS INS OUTS leave the flags alone.
;   - CMPS sets OF SF ZF AF PF CF from [DS:xSI] - [ES:xDI]; SCAS from
;     AL/AX/EAX - [ES:xDI] (checked for borrow, overflow, sign, parity, half borrow).
;   - REP with a count: xCX reaches 0; REPE/REPNE end on ZF (count decremented for
;     the ending iteration too, pointers past the ending element) or on the count;
;     xCX=0: nothing happens (no access, no pointer or flag change).
;   - address size 16 (SI/DI/CX, high halves of ESI/EDI/ECX untouched, wrap at 0xFFFF
;     both ways) and 32 (ESI/EDI/ECX; 0x67 in real mode, default and 0x67-less in
;     32-bit protected mode; 0x67 in protected mode selects SI/DI/CX) (Vol. 1 3.6
;     "Operand-size and address-size attributes", Vol. 3A 20.1 real-address mode).
;   - segment override replaces DS for the source (MOVS LODS CMPS OUTS); the ES
;     destination (MOVS STOS SCAS CMPS INS) is not overridable; ES base honoured.
;   - INS reads an unused port (0x260): only pointer/count updates are checked, not
;     the data (undefined bus value). OUTS writes to port 0x80 (POST port, ignored).
;   - long runs over several pages, overlapping MOVS (element by element: a
;     pattern repeats), up and down.
; Not covered: faults in the middle of a REP string (restart semantics), interrupts
; during REP, I/O permission checks (IOPL/bitmap) - those belong to protection tests.
%include "rom.inc"

IN_PORT  equ 0x260
OUT_PORT equ 0x80

CODE16
main:
    PRINT "string: real mode", 10
    INSTALL_RM_HANDLERS
    ; DS=0x1000 (source, linear 0x10000), ES=0x2000 (destination, linear 0x20000),
    ; FS=0x3000 (override source, linear 0x30000)
    mov ax, 0x1000
    mov ds, ax
    mov ax, 0x2000
    mov es, ax
    mov ax, 0x3000
    mov fs, ax
    ; DS:0x100+i = 0x80+i, FS:0x100+i = 0xc0+i (i < 64)
    ; ES:0..0x1ff = 0, FS:0..0xff = 0
    xor bx, bx
.fill:
    lea ax, [bx+0x80]
    mov [bx+0x100], al
    add al, 0x40
    mov [fs:bx+0x100], al
    inc bx
    cmp bx, 0x40
    jb .fill
    xor bx, bx
    xor eax, eax
.clr:
    mov [es:bx], eax
    mov [es:bx+0x100], eax
    mov [fs:bx], eax
    add bx, 4
    cmp bx, 0x100
    jb .clr

    ; ---- MOVS, single, DF=0 ----
    mov si, 0x100
    mov di, 0x008
    SETF16 FL_ARITH
    movsb
    CHECK_FLAGS FL_ARITH, FL_ARITH, "movsb leaves flags (all set)"
    CHECK32 [es:0x008], 0x00000080, "movsb data (one byte)"
    CHECK16 si, 0x101, "movsb si"
    CHECK16 di, 0x009, "movsb di"
    mov si, 0x100
    mov di, 0x010
    SETF16 0
    movsw
    CHECK_FLAGS FL_ARITH, 0, "movsw leaves flags (all clear)"
    CHECK32 [es:0x010], 0x00008180, "movsw data"
    CHECK16 si, 0x102, "movsw si"
    CHECK16 di, 0x012, "movsw di"
    mov si, 0x100
    mov di, 0x020
    movsd
    CHECK32 [es:0x020], 0x83828180, "movsd data"
    CHECK32 [es:0x024], 0, "movsd writes 4 bytes"
    CHECK16 si, 0x104, "movsd si"
    CHECK16 di, 0x024, "movsd di"

    ; ---- REP MOVS ----
    mov ecx, 0xabcd0005
    mov si, 0x101
    mov di, 0x030
    rep movsb
    CHECK32 [es:0x030], 0x84838281, "rep movsb data"
    CHECK32 [es:0x034], 0x00000085, "rep movsb stops after 5"
    CHECK32 ecx, 0xabcd0000, "rep movsb a16: CX counted, ECX high kept"
    CHECK16 si, 0x106, "rep movsb si"
    CHECK16 di, 0x035, "rep movsb di"
    mov ecx, 3
    mov si, 0x106
    mov di, 0x046
    std
    rep movsw
    cld
    CHECK32 [es:0x040], 0x83820000, "std rep movsw data low"
    CHECK32 [es:0x044], 0x87868584, "std rep movsw data high"
    CHECK32 ecx, 0, "std rep movsw ecx"
    CHECK16 si, 0x100, "std rep movsw si"
    CHECK16 di, 0x040, "std rep movsw di"
    mov ecx, 2
    mov si, 0x108
    mov di, 0x058
    std
    rep movsd
    cld
    CHECK32 [es:0x050], 0, "std rep movsd: no third dword"
    CHECK32 [es:0x054], 0x87868584, "std rep movsd second"
    CHECK32 [es:0x058], 0x8b8a8988, "std rep movsd first"
    CHECK16 si, 0x100, "std rep movsd si"
    CHECK16 di, 0x050, "std rep movsd di"
    ; count 0 (CX=0 although ECX is not)
    mov ecx, 0xffff0000
    mov si, 0x100
    mov di, 0x060
    SETF16 FL_CF|FL_ZF
    rep movsb
    CHECK_FLAGS FL_ARITH, FL_CF|FL_ZF, "rep movsb cx=0: flags"
    CHECK32 [es:0x060], 0, "rep movsb cx=0 moves nothing"
    CHECK32 ecx, 0xffff0000, "rep movsb cx=0: ecx"
    CHECK16 si, 0x100, "rep movsb cx=0: si"
    CHECK16 di, 0x060, "rep movsb cx=0: di"

    ; ---- 16-bit address wrap ----
    mov byte [0xffff], 0x5a
    mov byte [0x0000], 0xa5
    mov esi, 0x1234ffff
    mov edi, 0x00000070
    mov ecx, 2
    rep movsb
    CHECK32 [es:0x070], 0x0000a55a, "rep movsb si wraps ffff->0"
    CHECK32 esi, 0x12340001, "si wrap keeps esi high"
    CHECK32 edi, 0x00000072, "si wrap: edi"
    mov esi, 0x00000102
    mov edi, 0x56780000
    std
    movsb
    cld
    CHECK8 [es:0x000], 0x82, "std movsb at di=0"
    CHECK32 edi, 0x5678ffff, "std movsb: di wraps 0->ffff, edi high kept"
    CHECK32 esi, 0x00000101, "std movsb: si"

    ; ---- 32-bit address size in real mode (0x67) ----
    mov esi, 0x0000ffff
    mov edi, 0x0000ffff
    a32 movsb
    CHECK8 [es:0xffff], 0x5a, "a32 movsb data"
    CHECK32 esi, 0x00010000, "a32 movsb: esi incremented as 32 bits"
    CHECK32 edi, 0x00010000, "a32 movsb: edi incremented as 32 bits"
    xor esi, esi
    mov eax, 0x11223344
    std
    a32 lodsb
    cld
    CHECK32 eax, 0x112233a5, "a32 std lodsb data"
    CHECK32 esi, 0xffffffff, "a32 std lodsb: esi decremented as 32 bits"
    mov ecx, 2
    mov esi, 0x100
    mov edi, 0x80
    a32 rep movsw
    CHECK32 [es:0x080], 0x83828180, "a32 rep movsw data"
    CHECK32 ecx, 0, "a32 rep movsw ecx"
    CHECK32 esi, 0x104, "a32 rep movsw esi"
    CHECK32 edi, 0x84, "a32 rep movsw edi"
    ; a32 uses all of ECX: 0x10000 is not 0 (the scan ends on ZF after 2)
    mov ecx, 0x00010000
    mov edi, 0x30
    mov al, 0x82
    SETF16 0
    a32 repne scasb
    CHECK_FLAGS FL_ZF, FL_ZF, "a32 repne scasb ecx=0x10000: found"
    CHECK32 ecx, 0x0000fffe, "a32 repne scasb: ecx counted as 32 bits"
    CHECK32 edi, 0x32, "a32 repne scasb: edi"
    ; a16: the same ECX has CX=0: nothing
    mov ecx, 0x00010000
    mov edi, 0x30
    SETF16 FL_CF|FL_SF|FL_OF
    repne scasb
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_OF, "a16 repne scasb cx=0: flags unchanged"
    CHECK32 ecx, 0x00010000, "a16 repne scasb cx=0: ecx"
    CHECK32 edi, 0x30, "a16 repne scasb cx=0: edi"

    ; ---- segment override on the source, ES not overridable ----
    mov si, 0x100
    mov di, 0x090
    fs movsb
    CHECK8 [es:0x090], 0xc0, "fs movsb reads fs:si"
    CHECK8 [fs:0x090], 0x00, "fs movsb writes es:di"
    CHECK16 si, 0x101, "fs movsb si"
    CHECK16 di, 0x091, "fs movsb di"
    mov si, 0x102
    fs lodsw
    CHECK16 ax, 0xc3c2, "fs lodsw"
    mov si, 0x030
    es lodsb
    CHECK8 al, 0x81, "es lodsb reads es:si"
    mov si, str_tag
    cs lodsb
    CHECK8 al, 'T', "cs lodsb reads cs:si"
    mov byte [ss:VAR_SCRATCH], 0x77
    mov si, VAR_SCRATCH
    ss lodsb
    CHECK8 al, 0x77, "ss lodsb reads ss:si"
    mov di, 0x0a0
    mov al, 0x33
    fs stosb
    CHECK8 [es:0x0a0], 0x33, "fs stosb still writes es:di"
    CHECK8 [fs:0x0a0], 0x00, "fs stosb does not write fs:di"
    CHECK16 di, 0x0a1, "fs stosb di"
    mov di, 0x030
    mov al, 0x81
    SETF16 0
    fs scasb
    CHECK_FLAGS FL_ZF, FL_ZF, "fs scasb still compares es:di"
    mov si, 0x100
    mov di, 0x090
    SETF16 0
    fs cmpsb                    ; fs:0x100 (0xc0) vs es:0x090 (0xc0); ds:0x100 is 0x80
    CHECK_FLAGS FL_ZF, FL_ZF, "fs cmpsb compares fs:si with es:di"
    mov si, 0x100
    mov dx, OUT_PORT
    fs outsb
    CHECK16 si, 0x101, "fs outsb si"
    mov di, 0x0b8
    mov dx, IN_PORT
    fs insb
    CHECK16 di, 0x0b9, "fs insb di"
    CHECK8 [fs:0x0b8], 0x00, "fs insb does not write fs:di"

    ; ---- CMPS flags (SRC1=[si] - SRC2=[di]) ----
    mov byte [es:0x0b0], 0x01
    mov si, 0x100               ; 0x80
    mov di, 0x0b0
    SETF16 FL_ZF|FL_CF|FL_PF
    cmpsb                       ; 0x80-0x01 = 0x7f: OF, AF
    CHECK_FLAGS FL_ARITH, FL_OF|FL_AF, "cmpsb 0x80-0x01 flags"
    CHECK16 si, 0x101, "cmpsb si"
    CHECK16 di, 0x0b1, "cmpsb di"
    mov word [0x180], 0x0001
    mov word [es:0x0b2], 0x0002
    mov si, 0x180
    mov di, 0x0b2
    SETF16 FL_OF|FL_ZF
    std
    cmpsw                       ; 1-2 = 0xffff: CF SF AF PF
    cld
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_AF|FL_PF, "cmpsw 1-2 flags"
    CHECK16 si, 0x17e, "std cmpsw si"
    CHECK16 di, 0x0b0, "std cmpsw di"
    mov dword [0x184], 0x12345678
    mov dword [es:0x0b4], 0x12345678
    mov si, 0x184
    mov di, 0x0b4
    SETF16 FL_CF|FL_SF|FL_OF|FL_AF
    cmpsd                       ; equal: ZF PF
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "cmpsd equal flags"
    CHECK16 si, 0x188, "cmpsd si"
    CHECK16 di, 0x0b8, "cmpsd di"
    mov dword [0x188], 0
    mov dword [es:0x0bc], 0x80000000
    mov di, 0x0bc
    SETF16 0
    cmpsd                       ; 0-0x80000000 = 0x80000000: CF OF SF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_OF|FL_SF|FL_PF, "cmpsd 0-0x80000000 flags"

    ; ---- REPE / REPNE CMPS ----
    mov dword [0x1a0], 'abcX'
    mov dword [es:0x0c0], 'abcY'
    mov si, 0x1a0
    mov di, 0x0c0
    mov ecx, 10
    SETF16 FL_ZF
    repe cmpsb                  ; ends on 'X'-'Y' = 0xff
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_AF|FL_PF, "repe cmpsb mismatch flags"
    CHECK32 ecx, 6, "repe cmpsb mismatch: count includes the last compare"
    CHECK16 si, 0x1a4, "repe cmpsb mismatch si"
    CHECK16 di, 0x0c4, "repe cmpsb mismatch di"
    mov si, 0x1a0
    mov di, 0x0c0
    mov ecx, 3
    SETF16 FL_CF|FL_SF
    repe cmpsb                  ; all 3 equal: ends on the count
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "repe cmpsb all equal flags"
    CHECK32 ecx, 0, "repe cmpsb all equal ecx"
    CHECK16 si, 0x1a3, "repe cmpsb all equal si"
    mov dword [0x1b0], 0x00020001
    mov word [0x1b4], 0x0003
    mov dword [es:0x0d0], 0x00060005
    mov word [es:0x0d4], 0x0003
    mov si, 0x1b0
    mov di, 0x0d0
    mov ecx, 5
    SETF16 FL_CF
    repne cmpsw                 ; ends on the third (equal) pair
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "repne cmpsw match flags"
    CHECK32 ecx, 2, "repne cmpsw ecx"
    CHECK16 si, 0x1b6, "repne cmpsw si"
    CHECK16 di, 0x0d6, "repne cmpsw di"
    mov si, 0x1a0
    mov di, 0x0c0
    xor ecx, ecx
    SETF16 FL_CF|FL_SF|FL_OF|FL_AF
    repe cmpsb                  ; count 0: no compare, flags unchanged
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_OF|FL_AF, "repe cmpsb ecx=0 flags unchanged"
    CHECK16 si, 0x1a0, "repe cmpsb ecx=0 si"
    CHECK16 di, 0x0c0, "repe cmpsb ecx=0 di"
    CHECK32 ecx, 0, "repe cmpsb ecx=0 ecx"

    ; ---- SCAS ----
    mov byte [es:0x0e0], 0x20
    mov di, 0x0e0
    mov al, 0x10
    SETF16 FL_ZF|FL_OF
    scasb                       ; 0x10-0x20 = 0xf0: CF SF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_PF, "scasb 0x10-0x20 flags"
    CHECK16 di, 0x0e1, "scasb di"
    mov word [es:0x0e0], 0x0001
    mov di, 0x0e0
    mov ax, 0x8000
    SETF16 FL_CF|FL_ZF
    scasw                       ; 0x8000-1 = 0x7fff: OF AF PF
    CHECK_FLAGS FL_ARITH, FL_OF|FL_AF|FL_PF, "scasw 0x8000-1 flags"
    CHECK16 di, 0x0e2, "scasw di"
    mov dword [es:0x0e0], 5
    mov di, 0x0e0
    mov eax, 5
    SETF16 FL_CF|FL_SF
    std
    scasd
    cld
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "scasd equal flags"
    CHECK16 di, 0x0dc, "std scasd di"
    mov dword [es:0x0e0], 0x78202020   ; "   x"
    mov di, 0x0e0
    mov al, 0x20
    mov ecx, 10
    SETF16 0
    repe scasb                  ; skip blanks, end on 0x20-0x78 = 0xa8
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_AF, "repe scasb flags"
    CHECK32 ecx, 6, "repe scasb ecx"
    CHECK16 di, 0x0e4, "repe scasb di"
    mov di, 0x0e0
    mov al, 0x99
    mov ecx, 3
    SETF16 FL_ZF
    repne scasb                 ; not found: ends on the count
    CHECK_FLAGS FL_ZF, 0, "repne scasb not found ZF"
    CHECK32 ecx, 0, "repne scasb not found ecx"
    CHECK16 di, 0x0e3, "repne scasb not found di"
    mov dword [es:0x0f0], 0x11111111
    mov dword [es:0x0f4], 0x22222222
    mov dword [es:0x0f8], 0x33333333
    mov eax, 0x11111111
    mov di, 0x0f8
    mov ecx, 5
    std
    repne scasd
    cld
    CHECK_FLAGS FL_ZF, FL_ZF, "std repne scasd found"
    CHECK32 ecx, 2, "std repne scasd ecx"
    CHECK16 di, 0x0ec, "std repne scasd di"

    ; ---- LODS ----
    mov eax, 0xffffffff
    mov si, 0x100
    SETF16 FL_ARITH
    lodsb
    CHECK_FLAGS FL_ARITH, FL_ARITH, "lodsb leaves flags"
    CHECK32 eax, 0xffffff80, "lodsb loads al only"
    CHECK16 si, 0x101, "lodsb si"
    mov si, 0x102
    std
    lodsw
    cld
    CHECK32 eax, 0xffff8382, "std lodsw loads ax only"
    CHECK16 si, 0x100, "std lodsw si"
    mov si, 0x104
    lodsd
    CHECK32 eax, 0x87868584, "lodsd"
    CHECK16 si, 0x108, "lodsd si"
    mov si, 0x100
    mov ecx, 3
    rep lodsb
    CHECK8 al, 0x82, "rep lodsb: last byte"
    CHECK32 ecx, 0, "rep lodsb ecx"
    CHECK16 si, 0x103, "rep lodsb si"

    ; ---- STOS ----
    mov di, 0x100
    mov eax, 0x1234565a
    SETF16 0
    stosb
    CHECK_FLAGS FL_ARITH, 0, "stosb leaves flags"
    CHECK32 [es:0x100], 0x0000005a, "stosb data"
    CHECK16 di, 0x101, "stosb di"
    mov di, 0x114
    mov ecx, 3
    std
    rep stosw
    cld
    CHECK32 [es:0x10e], 0x565a0000, "std rep stosw low end"
    CHECK32 [es:0x110], 0x565a565a, "std rep stosw middle"
    CHECK32 [es:0x114], 0x0000565a, "std rep stosw high end"
    CHECK16 di, 0x10e, "std rep stosw di"
    CHECK32 ecx, 0, "std rep stosw ecx"
    mov eax, 0xcafebabe
    mov di, 0x120
    mov ecx, 2
    rep stosd
    CHECK32 [es:0x120], 0xcafebabe, "rep stosd first"
    CHECK32 [es:0x124], 0xcafebabe, "rep stosd second"
    CHECK32 [es:0x128], 0, "rep stosd stops"
    CHECK16 di, 0x128, "rep stosd di"

    ; ---- INS / OUTS (pointers and counts; data not checked) ----
    mov dx, IN_PORT
    mov di, 0x140
    SETF16 FL_ARITH
    insb
    CHECK_FLAGS FL_ARITH, FL_ARITH, "insb leaves flags"
    CHECK16 di, 0x141, "insb di"
    mov di, 0x142
    mov ecx, 0x77770002
    rep insw
    CHECK16 di, 0x146, "rep insw di"
    CHECK32 ecx, 0x77770000, "rep insw ecx"
    mov di, 0x150
    std
    insd
    cld
    CHECK16 di, 0x14c, "std insd di"
    mov di, 0x160
    xor ecx, ecx
    mov dword [es:0x160], 0x12345678
    rep insb
    CHECK16 di, 0x160, "rep insb ecx=0 di"
    CHECK32 [es:0x160], 0x12345678, "rep insb ecx=0 writes nothing"
    mov dx, OUT_PORT
    mov si, 0x100
    mov ecx, 3
    SETF16 0
    rep outsb
    CHECK_FLAGS FL_ARITH, 0, "rep outsb leaves flags"
    CHECK16 si, 0x103, "rep outsb si"
    CHECK32 ecx, 0, "rep outsb ecx"
    mov si, 0x104
    std
    outsw
    cld
    CHECK16 si, 0x102, "std outsw si"
    mov si, 0x100
    outsd
    CHECK16 si, 0x104, "outsd si"
    mov esi, 0x0000fffe
    mov ecx, 1
    a32 rep outsw
    CHECK32 esi, 0x00010000, "a32 rep outsw esi"

    xor ax, ax
    mov ds, ax
    mov es, ax
    mov fs, ax
    ENTER_PM32 pm_main

CODE32
SEL_ES40 equ SEL_FREE       ; data, base 0x40000
SEL_FS50 equ SEL_FREE + 8   ; data, base 0x50000
pm_main:
    PRINT "string: protected mode", 10
    mov dword [GDT_BASE + SEL_ES40], 0x0000ffff
    mov dword [GDT_BASE + SEL_ES40 + 4], 0x00cf9304
    mov dword [GDT_BASE + SEL_FS50], 0x0000ffff
    mov dword [GDT_BASE + SEL_FS50 + 4], 0x00cf9305
    mov ax, SEL_FS50
    mov fs, ax
    ; source data across the 64 KiB boundary at 0x70000
    mov dword [0x6fffc], 0x11111111
    mov dword [0x70000], 0x44332211
    mov dword [0x70004], 0x88776655
    mov dword [0x70008], 0x99999999
    xor eax, eax
    mov [0x60100], eax
    mov [0x6010c], eax
    mov [0x60200], eax
    mov [0x601fc], eax
    mov [0x40100], eax
    mov [0x40200], eax
    mov [0x50200], eax
    mov dword [0x50000], 0xa0a1a2a3
    mov dword [0x5fffc], 0xb0b1b2b3

    ; ---- a32 REP MOVS, no 64 KiB wrap ----
    mov esi, 0x6fffc
    mov edi, 0x60100
    mov ecx, 3
    rep movsd
    CHECK32 [0x60100], 0x11111111, "pm rep movsd 1"
    CHECK32 [0x60104], 0x44332211, "pm rep movsd 2"
    CHECK32 [0x60108], 0x88776655, "pm rep movsd 3"
    CHECK32 [0x6010c], 0, "pm rep movsd stops"
    CHECK32 esi, 0x70008, "pm rep movsd esi crosses 64K"
    CHECK32 edi, 0x6010c, "pm rep movsd edi"
    CHECK32 ecx, 0, "pm rep movsd ecx"
    mov esi, 0x70002
    mov edi, 0x60202
    mov ecx, 2
    std
    rep movsw
    cld
    CHECK32 [0x60200], 0x44332211, "pm std rep movsw data"
    CHECK32 [0x601fc], 0, "pm std rep movsw stops"
    CHECK32 esi, 0x6fffe, "pm std rep movsw esi"
    CHECK32 edi, 0x601fe, "pm std rep movsw edi"

    ; ---- a16 (0x67) in protected mode ----
    mov ax, SEL_ES40
    mov es, ax
    mov edi, 0x1234ffff
    mov al, 0x77
    a16 stosb
    CHECK8 [0x4ffff], 0x77, "pm a16 stosb at es:ffff"
    CHECK32 edi, 0x12340000, "pm a16 stosb di wraps, edi high kept"
    mov esi, 0xabcdfffe
    mov edi, 0x100
    mov ecx, 0x55550003
    fs a16 rep movsb            ; fs:fffe, fs:ffff, fs:0000 -> es:100..102
    CHECK32 [0x40100], 0x00a3b0b1, "pm fs a16 rep movsb data"
    CHECK32 esi, 0xabcd0001, "pm a16 rep movsb esi"
    CHECK32 edi, 0x00000103, "pm a16 rep movsb edi"
    CHECK32 ecx, 0x55550000, "pm a16 rep movsb ecx"
    mov esi, 0x99990000
    mov eax, 0xffffffff
    std
    fs a16 lodsb
    cld
    CHECK32 eax, 0xffffffa3, "pm std a16 lodsb data"
    CHECK32 esi, 0x9999ffff, "pm std a16 lodsb si wraps 0->ffff"
    mov ecx, 0x00010000
    mov edi, 0x200
    SETF32 FL_ZF|FL_PF
    a16 repne scasb             ; CX=0: nothing
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "pm a16 repne scasb cx=0 flags"
    CHECK32 ecx, 0x00010000, "pm a16 repne scasb cx=0 ecx"
    CHECK32 edi, 0x200, "pm a16 repne scasb cx=0 edi"

    ; ---- ES base, FS override of the source ----
    mov eax, 0xdeadbeef
    mov edi, 0x200
    fs stosd
    CHECK32 [0x40200], 0xdeadbeef, "pm fs stosd writes es (base 0x40000)"
    CHECK32 [0x50200], 0, "pm fs stosd does not write fs"
    CHECK32 edi, 0x204, "pm stosd edi"
    xor esi, esi
    fs lodsd
    CHECK32 eax, 0xa0a1a2a3, "pm fs lodsd"
    CHECK32 esi, 4, "pm fs lodsd esi"
    mov esi, 0xfffc
    mov edi, 0x208
    fs movsd
    CHECK32 [0x40208], 0xb0b1b2b3, "pm fs movsd fs:esi -> es:edi"
    mov edi, 0x208
    mov eax, 0xb0b1b2b3
    SETF32 0
    fs scasd
    CHECK_FLAGS FL_ZF, FL_ZF, "pm fs scasd compares es:edi"
    mov esi, 0xfffc
    mov edi, 0x208
    SETF32 0
    fs cmpsd
    CHECK_FLAGS FL_ZF, FL_ZF, "pm fs cmpsd compares fs:esi with es:edi"

    ; ---- REPE/REPNE in 32-bit ----
    mov ax, SEL_DATA32
    mov es, ax
    mov esi, 0x6fffc
    mov edi, 0x60100
    mov ecx, 3
    SETF32 0
    repe cmpsd
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "pm repe cmpsd equal"
    CHECK32 ecx, 0, "pm repe cmpsd ecx"
    mov word [0x60300], 0x1234
    mov word [0x60302], 0x0000
    mov word [0x60400], 0x1234
    mov word [0x60402], 0x8000
    mov esi, 0x60300
    mov edi, 0x60400
    mov ecx, 100
    SETF32 FL_ZF
    repe cmpsw                  ; 0-0x8000 = 0x8000: CF OF SF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_OF|FL_SF|FL_PF, "pm repe cmpsw mismatch flags"
    CHECK32 ecx, 98, "pm repe cmpsw ecx"
    CHECK32 esi, 0x60304, "pm repe cmpsw esi"
    CHECK32 edi, 0x60404, "pm repe cmpsw edi"
    mov ecx, 0x00010000         ; a32: not zero; ends on ZF after 2
    SETF32 0
    mov al, 0x22
    mov ecx, 0x00010000
    mov edi, 0x60104
    repne scasb                 ; 0x60104 is 0x11, 0x60105 is 0x22
    CHECK_FLAGS FL_ZF, FL_ZF, "pm repne scasb ecx=0x10000 found"
    CHECK32 ecx, 0x0000fffe, "pm repne scasb ecx 32-bit count"
    CHECK32 edi, 0x60106, "pm repne scasb edi"
    mov ecx, 0
    mov edi, 0x60100
    rep stosb
    CHECK32 [0x60100], 0x11111111, "pm rep stosb ecx=0 writes nothing"
    CHECK32 edi, 0x60100, "pm rep stosb ecx=0 edi"

    ; ---- INS / OUTS in protected mode (CPL 0) ----
    mov dx, IN_PORT
    mov edi, 0x60500
    mov ecx, 2
    rep insd
    CHECK32 edi, 0x60508, "pm rep insd edi"
    CHECK32 ecx, 0, "pm rep insd ecx"
    mov dx, OUT_PORT
    mov esi, 0x60100
    mov ecx, 3
    std
    rep outsw
    cld
    CHECK32 esi, 0x600fa, "pm std rep outsw esi"
    CHECK32 ecx, 0, "pm std rep outsw ecx"

    ; ---- long runs: several pages, overlapping copies, both directions ----
    ; (element by element semantics even where an emulator works in bulk)
    mov dword [0x75030], 0x5e5e5e5e
    mov edi, 0x70ff0
    mov ecx, 0x1010             ; 0x4040 bytes: four page boundaries crossed
    mov eax, 0xa1b2c3d4
    rep stosd
    CHECK32 [0x70ff0], 0xa1b2c3d4, "long rep stosd first"
    CHECK32 [0x72000], 0xa1b2c3d4, "long rep stosd middle"
    CHECK32 [0x7502c], 0xa1b2c3d4, "long rep stosd last"
    CHECK32 [0x75030], 0x5e5e5e5e, "long rep stosd stops"
    CHECK32 edi, 0x75030, "long rep stosd edi"
    CHECK32 ecx, 0, "long rep stosd ecx"
    mov word [0x72ffe], 0x2211
    mov esi, 0x72ffe
    mov edi, 0x73000
    mov ecx, 0x1800
    rep movsb                   ; DI = SI + 2: the pair repeats
    CHECK16 [0x73000], 0x2211, "overlapping rep movsb first"
    CHECK16 [0x74000], 0x2211, "overlapping rep movsb next page"
    CHECK16 [0x747fe], 0x2211, "overlapping rep movsb last"
    CHECK32 [0x74800], 0xa1b2c3d4, "overlapping rep movsb stops"
    CHECK32 esi, 0x747fe, "overlapping rep movsb esi"
    CHECK32 edi, 0x74800, "overlapping rep movsb edi"
    mov word [0x76000], 0x3344
    mov esi, 0x76001
    mov edi, 0x75fff
    mov ecx, 0x1000
    std
    rep movsb                   ; downwards, DI = SI - 2: the pair repeats down
    cld
    CHECK16 [0x75ffe], 0x3344, "std overlapping rep movsb first"
    CHECK16 [0x75000], 0x3344, "std overlapping rep movsb last"
    CHECK32 [0x74ffc], 0xa1b2c3d4, "std overlapping rep movsb stops"
    CHECK32 esi, 0x75001, "std overlapping rep movsb esi"
    CHECK32 edi, 0x74fff, "std overlapping rep movsb edi"
    mov dword [0x76ffc], 0x7e7e7e7e
    mov edi, 0x78002
    mov ecx, 0x802
    mov ax, 0x5566
    std
    rep stosw                   ; downwards across a page boundary
    cld
    CHECK16 [0x78002], 0x5566, "std long rep stosw first"
    CHECK16 [0x77000], 0x5566, "std long rep stosw last"
    CHECK32 [0x76ffc], 0x7e7e7e7e, "std long rep stosw stops"
    CHECK32 edi, 0x76ffe, "std long rep stosw edi"
    PASS

[section .rodata]
str_tag: db "T"
