; misc.asm: exchange-and-compare, byte swap, time stamp, MSRs, invalid opcodes, CPUID.
;
; XADD (SDM Vol. 2B "XADD"): TEMP=SRC+DEST, SRC=old DEST, DEST=TEMP; OF SF ZF AF PF CF
;   of the addition; 8/16/32 bits, register and memory destinations, same register
;   as both operands (DEST written last), LOCK XADD [mem].
; CMPXCHG (Vol. 2A "CMPXCHG"): accumulator compared with DEST; equal: ZF=1,
;   DEST=SRC; not equal: ZF=0, accumulator=DEST; OF SF AF PF CF as for
;   CMP accumulator,DEST; 8/16/32 bits, register and memory destinations,
;   16-bit forms keep the upper half of EAX; LOCK CMPXCHG [mem].
; CMPXCHG8B (Vol. 2A "CMPXCHG8B/CMPXCHG16B"): EDX:EAX vs m64; equal: ZF=1, m64=ECX:EBX;
;   not equal (also when only the high dword differs): ZF=0, EDX:EAX=m64; CF PF AF SF OF
;   unaffected; register operand -> #UD.
; BSWAP (Vol. 2A "BSWAP"): 32-bit registers.
; RDTSC (Vol. 2B "RDTSC"): a second read is larger than the first (64-bit compare);
;   no value is assumed.
; RDMSR / WRMSR (Vol. 2B "RDMSR", "WRMSR"; MSRs in Vol. 4 Table 2-2): IA32_SYSENTER_CS
;   (0x174) and IA32_SYSENTER_EIP (0x176) round trip; reserved/unimplemented MSR
;   0x12345678 -> #GP(0) for both (real mode: vector 13, no error code; protected
;   mode: error code 0); a faulting RDMSR leaves EDX:EAX alone. QEMU 7.2 (TCG)
;   ignores unknown MSRs, so the #GP checks are left out under QEMU and checked
;   under Bochs (run with "cpu: ignore_bad_msrs=0").
; UD2 (Vol. 2B "UD"): #UD, saved (E)IP points at UD2, real and protected mode.
; LOCK (Vol. 2A "LOCK"): on a non-lockable instruction (MOV) or with a register
;   destination (ADD reg,reg) -> #UD, (E)IP at the prefix; LOCK ADD [mem] works.
;   (LOCK MOV is Bochs-only: QEMU 7.2 executes it as a plain MOV.)
; NOP (Vol. 2B "NOP"): changes nothing.
; CPUID (Vol. 2A "CPUID"): leaf 0 max leaf >= 1; leaf 1 EDX has TSC(4), CX8(8),
;   CMOV(15) (all present on the target CPU and on QEMU's/Bochs' default CPU).
%include "rom.inc"

BAD_MSR equ 0x12345678

CODE16
main:
    PRINT "misc: real mode", 10
    INSTALL_RM_HANDLERS
    mov ax, 0x1000              ; ES -> linear 0x10000
    mov es, ax

    ; ---- XADD ----
    mov eax, 0xaaaaaa7f
    mov ebx, 0xbbbbbb01
    SETF16 FL_CF|FL_ZF
    xadd al, bl                 ; 0x7f+0x01 = 0x80: OF SF AF
    CHECK_FLAGS FL_ARITH, FL_OF|FL_SF|FL_AF, "xadd al,bl flags"
    CHECK32 eax, 0xaaaaaa80, "xadd al,bl: al = sum"
    CHECK32 ebx, 0xbbbbbb7f, "xadd al,bl: bl = old al"
    mov word [es:0x10], 0xffff
    mov ecx, 0x12340001
    SETF16 0
    xadd [es:0x10], cx          ; 0xffff+1 = 0: CF ZF AF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_ZF|FL_AF|FL_PF, "xadd [m16],cx flags"
    CHECK16 [es:0x10], 0x0000, "xadd [m16],cx: memory = sum"
    CHECK32 ecx, 0x1234ffff, "xadd [m16],cx: cx = old memory"
    mov dword [es:0x14], 0x80000000
    mov esi, 0x80000000
    SETF16 FL_SF|FL_AF
    xadd [es:0x14], esi         ; 0x80000000*2 = 0: CF OF ZF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_OF|FL_ZF|FL_PF, "xadd [m32],esi flags"
    CHECK32 [es:0x14], 0, "xadd [m32],esi: memory"
    CHECK32 esi, 0x80000000, "xadd [m32],esi: esi"
    mov bx, 0x1234
    mov di, 0x0fff
    xadd bx, di                 ; 0x2233: AF PF
    CHECK_FLAGS FL_ARITH, FL_AF|FL_PF, "xadd bx,di flags"
    CHECK16 bx, 0x2233, "xadd bx,di: bx"
    CHECK16 di, 0x1234, "xadd bx,di: di"
    mov ecx, 5
    xadd ecx, ecx               ; DEST is written last: 10
    CHECK32 ecx, 10, "xadd ecx,ecx"

    ; ---- CMPXCHG ----
    mov byte [es:0x20], 0x42
    mov eax, 0xaaaaaa42
    mov ecx, 0x99
    SETF16 FL_CF|FL_SF|FL_OF
    cmpxchg [es:0x20], cl       ; equal
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "cmpxchg [m8] equal flags"
    CHECK8 [es:0x20], 0x99, "cmpxchg [m8] equal: memory = cl"
    CHECK32 eax, 0xaaaaaa42, "cmpxchg [m8] equal: al unchanged"
    mov byte [es:0x21], 0x20
    mov al, 0x10
    SETF16 FL_ZF
    cmpxchg [es:0x21], cl       ; not equal: 0x10-0x20 = 0xf0: CF SF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_PF, "cmpxchg [m8] not equal flags"
    CHECK8 [es:0x21], 0x20, "cmpxchg [m8] not equal: memory unchanged"
    CHECK32 eax, 0xaaaaaa20, "cmpxchg [m8] not equal: al = memory"
    mov eax, 0xaaaa1234
    mov bx, 0x1234
    mov cx, 0x5678
    cmpxchg bx, cx              ; register destination, equal
    CHECK_FLAGS FL_ZF, FL_ZF, "cmpxchg bx,cx equal ZF"
    CHECK16 bx, 0x5678, "cmpxchg bx,cx equal: bx = cx"
    mov eax, 0xaaaa8000
    mov bx, 0x0001
    SETF16 FL_ZF|FL_CF
    cmpxchg bx, cx              ; not equal: 0x8000-1 = 0x7fff: OF AF PF
    CHECK_FLAGS FL_ARITH, FL_OF|FL_AF|FL_PF, "cmpxchg bx,cx not equal flags"
    CHECK32 eax, 0xaaaa0001, "cmpxchg bx,cx not equal: ax = bx, eax high kept"
    CHECK16 bx, 0x0001, "cmpxchg bx,cx not equal: bx unchanged"
    mov dword [es:0x24], 0x80000000
    mov eax, 0
    mov esi, 0x11111111
    SETF16 FL_ZF
    cmpxchg [es:0x24], esi      ; not equal: 0-0x80000000: CF OF SF PF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_OF|FL_SF|FL_PF, "cmpxchg [m32] not equal flags"
    CHECK32 eax, 0x80000000, "cmpxchg [m32] not equal: eax = memory"
    SETF16 FL_CF
    cmpxchg [es:0x24], esi      ; now equal
    CHECK_FLAGS FL_ARITH, FL_ZF|FL_PF, "cmpxchg [m32] equal flags"
    CHECK32 [es:0x24], 0x11111111, "cmpxchg [m32] equal: memory = esi"
    mov eax, 0x7fffffff
    mov edi, 0x7fffffff
    mov esi, 0xcafe0000
    cmpxchg edi, esi            ; register destination, 32-bit, equal
    CHECK32 edi, 0xcafe0000, "cmpxchg edi,esi equal"
    mov eax, 0xffffffff
    cmpxchg edi, esi            ; not equal: 0xffffffff - 0xcafe0000 = 0x3501ffff: PF
    CHECK_FLAGS FL_ARITH, FL_PF, "cmpxchg edi,esi not equal flags"
    CHECK32 eax, 0xcafe0000, "cmpxchg edi,esi not equal: eax = edi"

    ; ---- CMPXCHG8B ----
    mov dword [es:0x30], 0x89abcdef
    mov dword [es:0x34], 0x01234567
    mov eax, 0x89abcdef
    mov edx, 0x01234567
    mov ebx, 0x33333333
    mov ecx, 0x44444444
    SETF16 FL_CF|FL_PF|FL_AF|FL_SF|FL_OF
    cmpxchg8b [es:0x30]         ; equal
    CHECK_FLAGS FL_ARITH, FL_ARITH, "cmpxchg8b equal: ZF=1, other flags kept"
    CHECK32 [es:0x30], 0x33333333, "cmpxchg8b equal: low = ebx"
    CHECK32 [es:0x34], 0x44444444, "cmpxchg8b equal: high = ecx"
    CHECK32 eax, 0x89abcdef, "cmpxchg8b equal: eax kept"
    mov esi, edx
    CHECK32 esi, 0x01234567, "cmpxchg8b equal: edx kept"
    mov eax, 0x33333333         ; low equal, high differs
    mov edx, 0x44444445
    SETF16 FL_ZF
    cmpxchg8b [es:0x30]
    CHECK_FLAGS FL_ARITH, 0, "cmpxchg8b high differs: ZF=0, other flags kept"
    CHECK32 eax, 0x33333333, "cmpxchg8b not equal: eax = low"
    mov esi, edx
    CHECK32 esi, 0x44444444, "cmpxchg8b not equal: edx = high"
    CHECK32 [es:0x30], 0x33333333, "cmpxchg8b not equal: memory low kept"
    CHECK32 [es:0x34], 0x44444444, "cmpxchg8b not equal: memory high kept"
    SET_RECOVERY .ud1
.c8b_reg:
    db 0x0f, 0xc7, 0xc8         ; cmpxchg8b with a register operand
.ud1:
    CHECK_EXC 6, -1, "cmpxchg8b register form: #UD"
    CHECK32 [VAR_EXC_EIP], .c8b_reg, "cmpxchg8b reg: #UD ip"

    ; ---- BSWAP ----
    mov ebx, 0x11223344
    bswap ebx
    CHECK32 ebx, 0x44332211, "bswap ebx"
    bswap ebx
    CHECK32 ebx, 0x11223344, "bswap ebx twice"

    ; ---- RDTSC ----
    rdtsc
    mov esi, eax
    mov edi, edx
    rdtsc
    sub eax, esi
    sbb edx, edi
    jb .tsc_bad                 ; second < first
    or eax, edx
    jnz .tsc_ok
.tsc_bad:
    FAIL "rdtsc: second read not larger than the first"
.tsc_ok:

    ; ---- RDMSR / WRMSR ----
    mov ecx, 0x174              ; IA32_SYSENTER_CS
    mov eax, 0x0000abc8
    xor edx, edx
    wrmsr
    mov eax, 0xffffffff
    mov edx, 0xffffffff
    rdmsr
    CHECK32 eax, 0x0000abc8, "rdmsr 0x174 low"
    mov esi, edx
    CHECK32 esi, 0, "rdmsr 0x174 high"
    mov ecx, 0x176              ; IA32_SYSENTER_EIP
    mov eax, 0x12345678
    xor edx, edx
    wrmsr
    xor eax, eax
    rdmsr
    CHECK32 eax, 0x12345678, "rdmsr 0x176"
%ifndef QEMU ; QEMU 7.2 (TCG) ignores unknown MSRs; SDM Vol. 2 RDMSR/WRMSR: #GP(0)
    ; SDM RDMSR/WRMSR: #GP(0) if ECX specifies a reserved or unimplemented MSR.
    ; QEMU 7.2 TCG returns 0 and drops writes; Bochs 2.7 raises #GP(0) with
    ; "cpu: ignore_bad_msrs=0", which the harness sets.
    mov ecx, BAD_MSR
    mov eax, 0x55555555
    mov edx, 0x66666666
    SET_RECOVERY .gp1
.rdmsr_bad:
    rdmsr
.gp1:
    CHECK_EXC 13, -1, "rdmsr unknown msr: #GP (real mode, no error code)"
    CHECK32 [VAR_EXC_EIP], .rdmsr_bad, "rdmsr #GP ip"
    CHECK32 eax, 0x55555555, "rdmsr #GP: eax unchanged"
    SET_RECOVERY .gp2
    wrmsr
.gp2:
    CHECK_EXC 13, -1, "wrmsr unknown msr: #GP"
%endif

    ; ---- UD2, LOCK ----
    SET_RECOVERY .ud2
.ud2_insn:
    ud2
.ud2:
    CHECK_EXC 6, -1, "ud2: #UD"
    CHECK32 [VAR_EXC_EIP], .ud2_insn, "ud2: ip at ud2"
%ifndef QEMU
    ; QEMU 7.2 executes LOCK MOV as a plain MOV; SDM "LOCK": #UD for an instruction
    ; not in the lockable list, MOV page: #UD "If the LOCK prefix is used".
    SET_RECOVERY .ud3
.lock_mov:
    db 0xf0, 0x89, 0xd8         ; lock mov ax,bx
.ud3:
    CHECK_EXC 6, -1, "lock mov: #UD"
    CHECK32 [VAR_EXC_EIP], .lock_mov, "lock mov: ip at the prefix"
%endif
    mov ax, 1
    mov bx, 2
    SET_RECOVERY .ud4
.lock_add:
    db 0xf0, 0x01, 0xd8         ; lock add ax,bx
.ud4:
    CHECK_EXC 6, -1, "lock add ax,bx: #UD"
    CHECK16 ax, 1, "lock add ax,bx: ax unchanged"
    mov word [es:0x40], 0x7fff
    mov cx, 1
    lock add [es:0x40], cx
    CHECK_FLAGS FL_ARITH, FL_OF|FL_SF|FL_AF|FL_PF, "lock add [mem],cx flags"
    CHECK_NO_EXC "lock add [mem],cx"
    CHECK16 [es:0x40], 0x8000, "lock add [mem],cx result"

    ; ---- NOP ----
    mov eax, 0x12345678
    SETF16 FL_CF|FL_PF
    nop
    CHECK_FLAGS FL_ARITH, FL_CF|FL_PF, "nop flags"
    CHECK32 eax, 0x12345678, "nop eax"

    ; ---- CPUID ----
    xor eax, eax
    cpuid
    cmp eax, 1
    jae .leaf_ok
    CHECK32 eax, 1, "cpuid leaf 0: max leaf >= 1"
.leaf_ok:
    mov eax, 1
    cpuid
    and edx, (1 << 4) | (1 << 8) | (1 << 15)
    mov esi, edx
    CHECK32 esi, (1 << 4) | (1 << 8) | (1 << 15), "cpuid 1 edx: TSC CX8 CMOV"

    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "misc: protected mode", 10

    ; ---- LOCK XADD / LOCK CMPXCHG / CMPXCHG8B in 32-bit code ----
    mov dword [0x20000], 0x7ffffffe
    mov ecx, 3
    SETF32 FL_ZF
    lock xadd [0x20000], ecx    ; 0x7ffffffe+3 = 0x80000001: OF SF
    CHECK_FLAGS FL_ARITH, FL_OF|FL_SF|FL_AF, "pm lock xadd flags"
    CHECK32 [0x20000], 0x80000001, "pm lock xadd memory"
    CHECK32 ecx, 0x7ffffffe, "pm lock xadd ecx"
    mov eax, 0x80000001
    mov ebx, 0x55aa55aa
    lock cmpxchg [0x20000], ebx
    CHECK_FLAGS FL_ZF, FL_ZF, "pm lock cmpxchg equal"
    CHECK32 [0x20000], 0x55aa55aa, "pm lock cmpxchg memory"
    mov ax, 0x1111
    mov word [0x20004], 0x2222
    cmpxchg [0x20004], bx       ; 16-bit not equal: 0x1111-0x2222 = 0xeeef: CF SF AF
    CHECK_FLAGS FL_ARITH, FL_CF|FL_SF|FL_AF, "pm cmpxchg [m16] not equal flags"
    CHECK32 eax, 0x80002222, "pm cmpxchg [m16] not equal: ax"
    mov dword [0x20008], 0
    mov dword [0x2000c], 0
    xor eax, eax
    xor edx, edx
    mov ebx, 0xfeedface
    mov ecx, 0xdeadbeef
    SETF32 0
    lock cmpxchg8b [0x20008]
    CHECK_FLAGS FL_ARITH, FL_ZF, "pm lock cmpxchg8b equal"
    CHECK32 [0x20008], 0xfeedface, "pm cmpxchg8b low"
    CHECK32 [0x2000c], 0xdeadbeef, "pm cmpxchg8b high"
    mov eax, 0xfeedfacf         ; low differs
    mov edx, 0xdeadbeef
    SETF32 FL_ARITH
    cmpxchg8b [0x20008]
    CHECK_FLAGS FL_ARITH, FL_ARITH & ~FL_ZF, "pm cmpxchg8b low differs"
    CHECK32 eax, 0xfeedface, "pm cmpxchg8b not equal eax"

    ; ---- #UD cases in 32-bit code ----
    SET_RECOVERY .ud1
.ud2_insn:
    ud2
.ud1:
    CHECK_EXC 6, -1, "pm ud2: #UD"
    CHECK32 [VAR_EXC_EIP], .ud2_insn, "pm ud2: eip at ud2"
    SET_RECOVERY .ud2
.lock_add:
    db 0xf0, 0x01, 0xd8         ; lock add eax,ebx
.ud2:
    CHECK_EXC 6, -1, "pm lock add eax,ebx: #UD"
    CHECK32 [VAR_EXC_EIP], .lock_add, "pm lock add: eip at the prefix"
%ifndef QEMU
    ; QEMU 7.2 ignores LOCK on MOV (see the real-mode case)
    SET_RECOVERY .ud3
.lock_mov:
    db 0xf0, 0x8b, 0xc3         ; lock mov eax,ebx
.ud3:
    CHECK_EXC 6, -1, "pm lock mov: #UD"
%endif
    SET_RECOVERY .ud4
.c8b_reg:
    db 0x0f, 0xc7, 0xcb         ; cmpxchg8b ebx
.ud4:
    CHECK_EXC 6, -1, "pm cmpxchg8b register form: #UD"
    CHECK32 [VAR_EXC_EIP], .c8b_reg, "pm cmpxchg8b reg: eip"

    ; ---- MSRs in protected mode ----
    mov ecx, 0x174
    mov eax, SEL_CODE32
    xor edx, edx
    wrmsr
    xor eax, eax
    rdmsr
    CHECK32 eax, SEL_CODE32, "pm rdmsr 0x174"
%ifndef QEMU ; QEMU 7.2 (TCG) ignores unknown MSRs; SDM Vol. 2 RDMSR/WRMSR: #GP(0)
    ; SDM RDMSR/WRMSR: #GP(0); see the real-mode case for why this is optional.
    mov ecx, BAD_MSR
    SET_RECOVERY .gp1
.rdmsr_bad:
    rdmsr
.gp1:
    CHECK_EXC 13, 0, "pm rdmsr unknown msr: #GP(0)"
    CHECK32 [VAR_EXC_EIP], .rdmsr_bad, "pm rdmsr #GP eip"
    SET_RECOVERY .gp2
.wrmsr_bad:
    wrmsr
.gp2:
    CHECK_EXC 13, 0, "pm wrmsr unknown msr: #GP(0)"
    CHECK32 [VAR_EXC_EIP], .wrmsr_bad, "pm wrmsr #GP eip"
%endif

    ; ---- RDTSC in protected mode ----
    rdtsc
    mov esi, eax
    mov edi, edx
    rdtsc
    sub eax, esi
    sbb edx, edi
    jb .tsc_bad
    or eax, edx
    jnz .tsc_ok
.tsc_bad:
    FAIL "pm rdtsc: second read not larger than the first"
.tsc_ok:
    PASS
