; alu.asm: the integer ALU instructions ADD ADC SUB SBB CMP AND OR XOR TEST INC DEC
; NEG NOT, with every flag the SDM defines for them, in real mode and in 32-bit
; protected mode.
;
; What is checked (Intel SDM Vol. 2, the instruction pages):
;   ADD ADC SUB SBB CMP NEG  OF SF ZF AF PF CF all set from the result ("Flags
;                            Affected": set according to the result). ADC/SBB take
;                            CF as carry/borrow in; cases include the edge where the
;                            carry in alone causes the carry/borrow out, the zero
;                            result or the signed overflow, and carry in clear.
;                            CMP leaves the destination unchanged.
;                            NEG: CF = 0 if the operand is 0, else 1.
;   AND OR XOR TEST          OF = CF = 0; SF ZF PF per result; AF undefined (not
;                            checked). TEST leaves the destination unchanged.
;   INC DEC                  OF SF ZF AF PF per result; CF unchanged (every case is
;                            run with CF in = 0 and = 1).
;   NOT                      no flags affected (all six checked unchanged).
; Operand sizes 8 (incl. AH..DH), 16 and 32; forms r/m,r  r,r/m  (register and
; memory), the AL/AX/EAX,imm short forms (04 05 14 15 ...), 80/81 /x imm, 83 /x
; sign-extended imm8, and 82 /0 (the 80 alias valid outside 64-bit mode, SDM Vol. 2
; App. A opcode map). 8- and 16-bit operations are checked on the whole 32-bit
; register / dword so the untouched bits must be preserved. A few memory forms also
; run with the other address size (67h: 32-bit addressing in real mode, 16-bit in
; protected mode).
; Each case loads EFLAGS with every checked flag set opposite to its expected value
; (except CF where it is an input), so a flag left unwritten is caught.

%include "rom.inc"
%include "cases.inc"

; ---------------------------------------------------------------------------------
; The cases (run once in real mode, once in 32-bit protected mode; the same
; instruction text gets a 66/67 prefix as needed in each mode).
%macro SUITE 0
%assign CASE_NO 0

    ; ---- ADD (SDM Vol. 2A "ADD"): OF SF ZF AF PF CF per result
    T   {add eax, ebx}, 0x7fffffff, 0x00000001, -, -, ZF|CF, ARITH, OF|SF|AF|PF, eax, 0x80000000  ; signed overflow, AF, PF (low byte 00)
    T   {add eax, ebx}, 0xffffffff, 0x00000001, -, -, OF|SF, ARITH, ZF|AF|PF|CF, eax, 0x00000000  ; carry out, zero
    TM  {add dword [MA], ebx}, 0x80000000, 0x80000000, -, -, SF|AF, ARITH, OF|ZF|PF|CF, [MA], 0x00000000  ; 01 /r mem: carry and overflow, zero
    TM  {add eax, dword [MB]}, 0x12345678, 0x0edcba98, -, -, OF|SF|ZF|PF|CF, ARITH, AF, eax, 0x21111110  ; 03 /r: AF, no carry
    T   {add eax, strict dword 0x40000000}, 0x40000000, -, -, -, ZF|AF|CF, ARITH, OF|SF|PF, eax, 0x80000000  ; 05 id: overflow to negative
    T   {add ecx, strict dword 0x11}, 0xfffffff0, -, 0xfffffff0, -, OF|SF|ZF|AF|PF, ARITH, CF, ecx, 0x00000001  ; 81 /0 id: carry, PF odd
    T   {add ecx, byte -1}, 0x00000001, -, 0x00000001, -, OF|SF, ARITH, ZF|AF|PF|CF, ecx, 0x00000000  ; 83 /0 ib (-1): carry, zero
    TM  {add dword [MA], byte 127}, 0x7ffffff0, 0xc3c3c3c3, -, -, ZF|AF|CF, ARITH, OF|SF|PF, [MA], 0x8000006f  ; 83 /0 ib mem: overflow
    T   {add ax, bx}, 0x5a5a7fff, 0xc3c30001, -, -, ZF|CF, ARITH, OF|SF|AF|PF, eax, 0x5a5a8000  ; overflow
    T   {add ax, strict word 0x100}, 0x5a5aff00, -, -, -, OF|SF|AF, ARITH, ZF|PF|CF, eax, 0x5a5a0000  ; 05 iw: carry, zero
    T   {add cx, byte -128}, 0x5a5a1234, -, 0x5a5a1234, -, OF|SF|ZF|AF, ARITH, PF|CF, ecx, 0x5a5a11b4  ; 83 /0 ib (-128): carry
    TM  {add word [MA], bx}, 0x5a5a8000, 0xc3c38001, -, -, SF|ZF|AF|PF, ARITH, OF|CF, [MA], 0x5a5a0001  ; 01 /r mem: carry and overflow
    T   {add al, bl}, 0x5a5a5a7f, 0xc3c3c301, -, -, ZF|PF|CF, ARITH, OF|SF|AF, eax, 0x5a5a5a80  ; overflow, AF
    T   {add al, 0x80}, 0x5a5a5a80, -, -, -, SF|AF, ARITH, OF|ZF|PF|CF, eax, 0x5a5a5a00  ; 04 ib: carry, overflow, zero
    T   {add cl, 0xf1}, 0x5a5a5a0f, -, 0x5a5a5a0f, -, OF|SF, ARITH, ZF|AF|PF|CF, ecx, 0x5a5a5a00  ; 80 /0 ib: carry, AF, zero
    T   {add ah, bh}, 0x5a5a345a, 0xc3c312c3, -, -, OF|SF|ZF|AF|PF|CF, ARITH, 0, eax, 0x5a5a465a  ; high byte registers, no flags
    TM  {add bl, byte [MA]}, 0x5a5a5ac0, 0xc3c3c3c0, -, -, OF|ZF|AF|PF, ARITH, SF|CF, ebx, 0xc3c3c380  ; 02 /r: carry, sign
    TM  {add byte [MA], 0x8}, 0x5a5a5a08, 0xc3c3c3c3, -, -, OF|SF|ZF|PF|CF, ARITH, AF, [MA], 0x5a5a5a10  ; 80 /0 ib mem: AF
    T   {db 0x82, 0xc0, 0x03}, 0x5a5a5a05, 0xc3c3c3c3, 0x5a5a5a05, 0xc3c3c3c3, OF|SF|ZF|AF|PF|CF, ARITH, 0, eax, 0x5a5a5a08  ; 82 /0 ib (alias of 80, valid outside 64-bit mode): add al, 3

    ; ---- ADC (SDM "ADC"): DEST + SRC + CF; all six flags per result
    T   {adc eax, ebx}, 0x7fffffff, 0x00000000, -, -, ZF|CF, ARITH, OF|SF|AF|PF, eax, 0x80000000  ; overflow caused only by the carry in
    T   {adc eax, ebx}, 0xffffffff, 0x00000000, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x00000000  ; carry out and zero caused by the carry in
    T   {adc eax, ebx}, 0xffffffff, 0xffffffff, -, -, OF|ZF|CF, ARITH, SF|AF|PF|CF, eax, 0xffffffff  ; carry with carry in: result ffffffff
    T   {adc eax, ebx}, 0xffffffff, 0x00000001, -, -, OF|SF, ARITH, ZF|AF|PF|CF, eax, 0x00000000  ; carry in clear
    TM  {adc dword [MA], ebx}, 0x0000000f, 0x00000000, -, -, OF|SF|ZF|PF|CF, ARITH, AF, [MA], 0x00000010  ; 11 /r mem: AF from carry in
    T   {adc ecx, byte 1}, 0x7ffffffe, -, 0x7ffffffe, -, ZF|CF, ARITH, OF|SF|AF|PF, ecx, 0x80000000  ; 83 /2 ib: overflow with carry in
    T   {adc eax, strict dword 0x7fffffff}, 0x80000000, -, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x00000000  ; 15 id: carry, zero
    T   {adc ax, bx}, 0x5a5a7fff, 0xc3c30000, -, -, ZF|CF, ARITH, OF|SF|AF|PF, eax, 0x5a5a8000  ; overflow from carry in
    TM  {adc ax, word [MB]}, 0x5a5affff, 0xc3c30000, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x5a5a0000  ; 13 /r: carry, zero from carry in
    T   {adc cx, strict word 0x8000}, 0x5a5a8000, -, 0x5a5a8000, -, SF|AF, ARITH, OF|ZF|PF|CF, ecx, 0x5a5a0000  ; 81 /2 iw: carry, overflow, zero
    T   {adc al, bl}, 0x5a5a5a7f, 0xc3c3c300, -, -, ZF|PF|CF, ARITH, OF|SF|AF, eax, 0x5a5a5a80  ; overflow from carry in
    T   {adc al, 0x0}, 0x5a5a5aff, -, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x5a5a5a00  ; 14 ib: carry, zero, AF from carry in
    TM  {adc byte [MA], bl}, 0x5a5a5a80, 0xc3c3c37f, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, [MA], 0x5a5a5a00  ; 10 /r mem: carry zero
    T   {adc dh, ch}, 0x5a5a345a, -, 0x5a5a345a, 0xc3c312c3, OF|SF|ZF|AF|PF, ARITH, 0, edx, 0xc3c346c3  ; high byte registers, carry in clear

    ; ---- SUB (SDM "SUB"): all six flags per result, CF = borrow
    T   {sub eax, ebx}, 0x00000000, 0x00000001, -, -, OF|ZF, ARITH, SF|AF|PF|CF, eax, 0xffffffff  ; borrow, sign, AF
    T   {sub eax, ebx}, 0x80000000, 0x00000001, -, -, SF|ZF|CF, ARITH, OF|AF|PF, eax, 0x7fffffff  ; overflow, AF
    TM  {sub eax, dword [MB]}, 0x7fffffff, 0xffffffff, -, -, ZF|AF, ARITH, OF|SF|PF|CF, eax, 0x80000000  ; 2b /r: overflow and borrow
    TM  {sub dword [MA], ebx}, 0x12345678, 0x12345678, -, -, OF|SF|AF|CF, ARITH, ZF|PF, [MA], 0x00000000  ; 29 /r mem: zero
    T   {sub eax, strict dword 0x1}, 0x00000010, -, -, -, OF|SF|ZF|CF, ARITH, AF|PF, eax, 0x0000000f  ; 2d id: AF
    T   {sub ecx, byte -2}, 0x00000005, -, 0x00000005, -, OF|SF|ZF|PF, ARITH, AF|CF, ecx, 0x00000007  ; 83 /5 ib (-2): borrow
    T   {sub ax, bx}, 0x5a5a8000, 0xc3c30001, -, -, SF|ZF|CF, ARITH, OF|AF|PF, eax, 0x5a5a7fff  ; overflow
    T   {sub ax, strict word 0x2}, 0x5a5a0001, -, -, -, OF|ZF, ARITH, SF|AF|PF|CF, eax, 0x5a5affff  ; 2d iw: borrow, sign
    TM  {sub word [MA], strict word 0x1234}, 0x5a5a1234, 0xc3c3c3c3, -, -, OF|SF|AF|CF, ARITH, ZF|PF, [MA], 0x5a5a0000  ; 81 /5 iw mem: zero
    T   {sub al, bl}, 0x5a5a5a80, 0xc3c3c301, -, -, SF|ZF|PF|CF, ARITH, OF|AF, eax, 0x5a5a5a7f  ; overflow, AF
    T   {sub al, 0x20}, 0x5a5a5a10, -, -, -, OF|ZF|AF, ARITH, SF|PF|CF, eax, 0x5a5a5af0  ; 2c ib: borrow
    T   {sub ch, 0x80}, 0x5a5a7f5a, -, 0x5a5a7f5a, -, ZF|AF, ARITH, OF|SF|PF|CF, ecx, 0x5a5aff5a  ; 80 /5 ib high byte: overflow and borrow
    TM  {sub bl, byte [MA]}, 0x5a5a5a03, 0xc3c3c303, -, -, OF|SF|AF|CF, ARITH, ZF|PF, ebx, 0xc3c3c300  ; 2a /r: zero

    ; ---- SBB (SDM "SBB"): DEST - (SRC + CF); all six flags per result
    T   {sbb eax, ebx}, 0x80000000, 0x00000000, -, -, SF|ZF|CF, ARITH, OF|AF|PF, eax, 0x7fffffff  ; overflow caused only by the borrow in
    T   {sbb eax, ebx}, 0x00000000, 0x00000000, -, -, OF|ZF|CF, ARITH, SF|AF|PF|CF, eax, 0xffffffff  ; borrow out caused by the borrow in
    T   {sbb eax, ebx}, 0x00000000, 0xffffffff, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x00000000  ; 0 - ffffffff - 1: borrow, zero
    T   {sbb eax, ebx}, 0x00000005, 0x00000004, -, -, OF|SF|AF|CF, ARITH, ZF|PF, eax, 0x00000000  ; zero
    T   {sbb eax, ebx}, 0x00000005, 0x00000004, -, -, OF|SF|ZF|AF|PF, ARITH, 0, eax, 0x00000001  ; borrow in clear
    TM  {sbb dword [MA], byte 0}, 0x00000010, 0xc3c3c3c3, -, -, OF|SF|ZF|CF, ARITH, AF|PF, [MA], 0x0000000f  ; 83 /3 ib mem: AF from borrow in
    T   {sbb eax, strict dword 0x7fffffff}, 0x80000000, -, -, -, SF|CF, ARITH, OF|ZF|AF|PF, eax, 0x00000000  ; 1d id: zero
    T   {sbb ax, bx}, 0x5a5a8000, 0xc3c30000, -, -, SF|ZF|CF, ARITH, OF|AF|PF, eax, 0x5a5a7fff  ; overflow from borrow in
    TM  {sbb cx, word [MB]}, 0x5a5a0000, 0xc3c3ffff, 0x5a5a0000, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, ecx, 0x5a5a0000  ; 1b /r: borrow, zero
    T   {sbb ax, strict word 0x0}, 0x5a5a0000, -, -, -, OF|ZF|CF, ARITH, SF|AF|PF|CF, eax, 0x5a5affff  ; 1d iw: borrow from borrow in
    T   {sbb al, bl}, 0x5a5a5a80, 0xc3c3c300, -, -, SF|ZF|PF|CF, ARITH, OF|AF, eax, 0x5a5a5a7f  ; overflow from borrow in
    T   {sbb al, 0xff}, 0x5a5a5a00, -, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x5a5a5a00  ; 1c ib: borrow, zero
    TM  {sbb byte [MA], bl}, 0x5a5a5a10, 0xc3c3c30f, -, -, OF|SF|ZF|PF, ARITH, AF, [MA], 0x5a5a5a01  ; 18 /r mem: AF, borrow in clear

    ; ---- CMP (SDM "CMP"): flags as SUB, destination unchanged
    T   {cmp eax, ebx}, 0x00000001, 0x00000002, -, -, OF|ZF, ARITH, SF|AF|PF|CF, eax, 0x00000001  ; below
    T   {cmp eax, ebx}, 0x80000000, 0x00000001, -, -, SF|ZF|CF, ARITH, OF|AF|PF, eax, 0x80000000  ; overflow
    TM  {cmp dword [MA], ebx}, 0x12345678, 0x12345678, -, -, OF|SF|AF|CF, ARITH, ZF|PF, [MA], 0x12345678  ; 39 /r mem: equal
    TM  {cmp eax, dword [MB]}, 0x7fffffff, 0x80000000, -, -, ZF|AF, ARITH, OF|SF|PF|CF, eax, 0x7fffffff  ; 3b /r: overflow, borrow
    T   {cmp eax, strict dword 0x1}, 0x00000000, -, -, -, OF|ZF, ARITH, SF|AF|PF|CF, eax, 0x00000000  ; 3d id
    T   {cmp ecx, byte -1}, 0x00000010, -, 0x00000010, -, OF|SF|ZF, ARITH, AF|PF|CF, ecx, 0x00000010  ; 83 /7 ib (-1): borrow, AF
    T   {cmp ax, bx}, 0x5a5a8000, 0xc3c37fff, -, -, SF|ZF|PF|CF, ARITH, OF|AF, eax, 0x5a5a8000  ; overflow
    TM  {cmp word [MA], byte 1}, 0x5a5a0100, 0xc3c3c3c3, -, -, OF|SF|ZF|CF, ARITH, AF|PF, [MA], 0x5a5a0100  ; 83 /7 ib mem: AF
    T   {cmp al, 0x1}, 0x5a5a5a80, -, -, -, SF|ZF|PF|CF, ARITH, OF|AF, eax, 0x5a5a5a80  ; 3c ib: overflow
    T   {cmp cl, 0x5}, 0x5a5a5a05, -, 0x5a5a5a05, -, OF|SF|AF|CF, ARITH, ZF|PF, ecx, 0x5a5a5a05  ; 80 /7 ib: equal
    T   {cmp bh, ch}, 0x5a5a025a, 0xc3c301c3, 0x5a5a025a, -, OF|ZF, ARITH, SF|AF|PF|CF, ebx, 0xc3c301c3  ; below, high bytes
    TM  {cmp byte [MA], bl}, 0x5a5a5a10, 0xc3c3c301, -, -, OF|SF|ZF|CF, ARITH, AF|PF, [MA], 0x5a5a5a10  ; 38 /r mem: AF

    ; ---- AND OR XOR TEST (SDM "AND", "OR", "XOR", "TEST"): OF = CF = 0, SF ZF PF per result, AF undefined
    T   {and eax, ebx}, 0xf0f0f0f0, 0x0f0f0f0f, -, -, OF|SF|AF|CF, ARITH-AF, ZF|PF, eax, 0x00000000  ; zero
    TM  {and eax, dword [MB]}, 0x80000001, 0xffffffff, -, -, OF|ZF|AF|PF|CF, ARITH-AF, SF, eax, 0x80000001  ; 23 /r: sign, PF odd
    T   {and ecx, byte -13}, 0x0000ffff, -, 0x0000ffff, -, OF|SF|ZF|AF|CF, ARITH-AF, PF, ecx, 0x0000fff3  ; 83 /4 ib
    T   {and ax, strict word 0xffff}, 0x5a5a8003, -, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, eax, 0x5a5a8003  ; 25 iw: sign, PF even
    TM  {and byte [MA], bl}, 0x5a5a5aff, 0xc3c3c381, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, [MA], 0x5a5a5a81  ; 20 /r mem: sign
    T   {and al, 0xf0}, 0x5a5a5a0f, -, -, -, OF|SF|AF|CF, ARITH-AF, ZF|PF, eax, 0x5a5a5a00  ; 24 ib: zero
    T   {or eax, ebx}, 0x00000000, 0x00000000, -, -, OF|SF|AF|CF, ARITH-AF, ZF|PF, eax, 0x00000000  ; zero
    TM  {or dword [MA], ebx}, 0x80000000, 0x00000003, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, [MA], 0x80000003  ; 09 /r mem: sign
    T   {or eax, strict dword 0x100}, 0x00000001, -, -, -, OF|SF|ZF|AF|PF|CF, ARITH-AF, 0, eax, 0x00000101  ; 0d id: PF odd (low byte 01)
    T   {or cx, strict word 0x8000}, 0x5a5a0010, -, 0x5a5a0010, -, OF|ZF|AF|PF|CF, ARITH-AF, SF, ecx, 0x5a5a8010  ; 81 /1 iw: sign
    T   {or al, bl}, 0x5a5a5a40, 0xc3c3c301, -, -, OF|SF|ZF|AF|CF, ARITH-AF, PF, eax, 0x5a5a5a41  ; PF even
    T   {or al, 0x0}, 0x5a5a5a80, -, -, -, OF|ZF|AF|PF|CF, ARITH-AF, SF, eax, 0x5a5a5a80  ; 0c ib: sign, PF odd
    T   {xor eax, ebx}, 0x89abcdef, 0x89abcdef, -, -, OF|SF|AF|CF, ARITH-AF, ZF|PF, eax, 0x00000000  ; zero
    TM  {xor eax, dword [MB]}, 0x00000003, 0x80000000, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, eax, 0x80000003  ; 33 /r: sign
    T   {xor ecx, byte -128}, 0x00000000, -, 0x00000000, -, OF|ZF|AF|PF|CF, ARITH-AF, SF, ecx, 0xffffff80  ; 83 /6 ib: sign
    T   {xor ax, strict word 0xaaaa}, 0x5a5a5555, -, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, eax, 0x5a5affff  ; 35 iw: sign
    T   {xor ah, bh}, 0x5a5a0f5a, 0xc3c30ec3, -, -, OF|SF|ZF|AF|PF|CF, ARITH-AF, 0, eax, 0x5a5a015a  ; high bytes
    TM  {xor byte [MA], 0x1}, 0x5a5a5a01, 0xc3c3c3c3, -, -, OF|SF|AF|CF, ARITH-AF, ZF|PF, [MA], 0x5a5a5a00  ; 80 /6 ib mem: zero
    T   {test eax, ebx}, 0xffff0000, 0x0000ffff, -, -, OF|SF|AF|CF, ARITH-AF, ZF|PF, eax, 0xffff0000  ; zero, destination unchanged
    TM  {test dword [MA], ebx}, 0x80000000, 0xc0000000, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, [MA], 0x80000000  ; 85 /r mem: sign
    T   {test eax, strict dword 0x3}, 0x00000007, -, -, -, OF|SF|ZF|AF|CF, ARITH-AF, PF, eax, 0x00000007  ; a9 id
    T   {test ecx, strict dword 0x1}, 0x00000101, -, 0x00000101, -, OF|SF|ZF|AF|PF|CF, ARITH-AF, 0, ecx, 0x00000101  ; f7 /0 id: PF odd
    T   {test ax, bx}, 0x5a5a8001, 0xc3c38000, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, eax, 0x5a5a8001  ; sign
    T   {test al, 0x80}, 0x5a5a5a81, -, -, -, OF|ZF|AF|PF|CF, ARITH-AF, SF, eax, 0x5a5a5a81  ; a8 ib: sign
    TM  {test byte [MA], 0x3}, 0x5a5a5a03, 0xc3c3c3c3, -, -, OF|SF|ZF|AF|CF, ARITH-AF, PF, [MA], 0x5a5a5a03  ; f6 /0 ib mem: PF even

    ; ---- INC DEC (SDM "INC", "DEC"): OF SF ZF AF PF per result, CF unchanged (tried 0 and 1)
    T   {inc eax}, 0x7fffffff, -, -, -, ZF, ARITH, OF|SF|AF|PF, eax, 0x80000000  ; CF in 0: overflow, AF
    TM  {inc dword [MA]}, 0xffffffff, 0xc3c3c3c3, -, -, OF|SF, ARITH, ZF|AF|PF, [MA], 0x00000000  ; CF in 0: ff /0 mem: zero (no carry)
    T   {inc cx}, 0x5a5a7fff, -, 0x5a5a7fff, -, ZF, ARITH, OF|SF|AF|PF, ecx, 0x5a5a8000  ; CF in 0: overflow
    TM  {inc word [MA]}, 0x5a5a00ff, 0xc3c3c3c3, -, -, OF|SF|ZF, ARITH, AF|PF, [MA], 0x5a5a0100  ; CF in 0: ff /0 mem: AF
    T   {inc al}, 0x5a5a5aff, -, -, -, OF|SF, ARITH, ZF|AF|PF, eax, 0x5a5a5a00  ; CF in 0: fe /0: zero
    T   {inc bh}, 0x5a5a5a5a, 0xc3c37fc3, -, -, ZF|PF, ARITH, OF|SF|AF, ebx, 0xc3c380c3  ; CF in 0: overflow
    T   {dec eax}, 0x80000000, -, -, -, SF|ZF, ARITH, OF|AF|PF, eax, 0x7fffffff  ; CF in 0: overflow, AF
    TM  {dec dword [MA]}, 0x00000000, 0xc3c3c3c3, -, -, OF|ZF, ARITH, SF|AF|PF, [MA], 0xffffffff  ; CF in 0: ff /1 mem: ffffffff (no borrow)
    T   {dec dx}, 0x5a5a5a5a, -, -, 0xc3c30001, OF|SF|AF, ARITH, ZF|PF, edx, 0xc3c30000  ; CF in 0: zero
    T   {dec ax}, 0x5a5a8000, -, -, -, SF|ZF, ARITH, OF|AF|PF, eax, 0x5a5a7fff  ; CF in 0: overflow
    T   {dec cl}, 0x5a5a5a80, -, 0x5a5a5a80, -, SF|ZF|PF, ARITH, OF|AF, ecx, 0x5a5a5a7f  ; CF in 0: overflow
    TM  {dec byte [MA]}, 0x5a5a5a00, 0xc3c3c3c3, -, -, OF|ZF, ARITH, SF|AF|PF, [MA], 0x5a5a5aff  ; CF in 0: fe /1 mem
    T   {inc eax}, 0x7fffffff, -, -, -, ZF|CF, ARITH, OF|SF|AF|PF|CF, eax, 0x80000000  ; CF in 1: overflow, AF
    TM  {inc dword [MA]}, 0xffffffff, 0xc3c3c3c3, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, [MA], 0x00000000  ; CF in 1: ff /0 mem: zero (no carry)
    T   {inc cx}, 0x5a5a7fff, -, 0x5a5a7fff, -, ZF|CF, ARITH, OF|SF|AF|PF|CF, ecx, 0x5a5a8000  ; CF in 1: overflow
    TM  {inc word [MA]}, 0x5a5a00ff, 0xc3c3c3c3, -, -, OF|SF|ZF|CF, ARITH, AF|PF|CF, [MA], 0x5a5a0100  ; CF in 1: ff /0 mem: AF
    T   {inc al}, 0x5a5a5aff, -, -, -, OF|SF|CF, ARITH, ZF|AF|PF|CF, eax, 0x5a5a5a00  ; CF in 1: fe /0: zero
    T   {inc bh}, 0x5a5a5a5a, 0xc3c37fc3, -, -, ZF|PF|CF, ARITH, OF|SF|AF|CF, ebx, 0xc3c380c3  ; CF in 1: overflow
    T   {dec eax}, 0x80000000, -, -, -, SF|ZF|CF, ARITH, OF|AF|PF|CF, eax, 0x7fffffff  ; CF in 1: overflow, AF
    TM  {dec dword [MA]}, 0x00000000, 0xc3c3c3c3, -, -, OF|ZF|CF, ARITH, SF|AF|PF|CF, [MA], 0xffffffff  ; CF in 1: ff /1 mem: ffffffff (no borrow)
    T   {dec dx}, 0x5a5a5a5a, -, -, 0xc3c30001, OF|SF|AF|CF, ARITH, ZF|PF|CF, edx, 0xc3c30000  ; CF in 1: zero
    T   {dec ax}, 0x5a5a8000, -, -, -, SF|ZF|CF, ARITH, OF|AF|PF|CF, eax, 0x5a5a7fff  ; CF in 1: overflow
    T   {dec cl}, 0x5a5a5a80, -, 0x5a5a5a80, -, SF|ZF|PF|CF, ARITH, OF|AF|CF, ecx, 0x5a5a5a7f  ; CF in 1: overflow
    TM  {dec byte [MA]}, 0x5a5a5a00, 0xc3c3c3c3, -, -, OF|ZF|CF, ARITH, SF|AF|PF|CF, [MA], 0x5a5a5aff  ; CF in 1: fe /1 mem

    ; ---- NEG (SDM "NEG"): CF = (operand != 0), others per result of 0 - operand
    T   {neg eax}, 0x00000000, -, -, -, OF|SF|AF|CF, ARITH, ZF|PF, eax, 0x00000000  ; zero: CF = 0
    T   {neg eax}, 0x80000000, -, -, -, ZF|AF, ARITH, OF|SF|PF|CF, eax, 0x80000000  ; overflow
    TM  {neg dword [MA]}, 0x00000001, 0xc3c3c3c3, -, -, OF|ZF, ARITH, SF|AF|PF|CF, [MA], 0xffffffff  ; f7 /3 mem
    T   {neg bx}, 0x5a5a5a5a, 0xc3c38000, -, -, ZF|AF, ARITH, OF|SF|PF|CF, ebx, 0xc3c38000  ; overflow
    T   {neg ax}, 0x5a5a0010, -, -, -, OF|ZF|AF, ARITH, SF|PF|CF, eax, 0x5a5afff0  ; no AF: low nibble 0
    T   {neg al}, 0x5a5a5a80, -, -, -, ZF|AF|PF, ARITH, OF|SF|CF, eax, 0x5a5a5a80  ; overflow
    TM  {neg byte [MA]}, 0x5a5a5a00, 0xc3c3c3c3, -, -, OF|SF|AF|CF, ARITH, ZF|PF, [MA], 0x5a5a5a00  ; f6 /3 mem: zero
    T   {neg ch}, 0x5a5a7f5a, -, 0x5a5a7f5a, -, OF|ZF, ARITH, SF|AF|PF|CF, ecx, 0x5a5a815a  ; high byte

    ; ---- memory operands with the other address size (67h prefix: 32-bit addressing in real mode, 16-bit addressing in protected mode)
    TM  {XA add dword [MA], ebx}, 0xfffffffe, 0x00000003, -, -, OF|SF|ZF|PF, ARITH, AF|CF, [MA], 0x00000001  ; 01 /r: carry
    TM  {XA sbb byte [MA], bl}, 0x5a5a5a00, 0xc3c3c300, -, -, OF|ZF|CF, ARITH, SF|AF|PF|CF, [MA], 0x5a5a5aff  ; 18 /r: borrow in -> ff
    TM  {XA and ax, word [MB]}, 0x5a5a8001, 0xc3c38000, -, -, OF|ZF|AF|CF, ARITH-AF, SF|PF, eax, 0x5a5a8000  ; 23 /r: sign
    TM  {XA cmp dword [MA], byte 1}, 0x00000000, 0xc3c3c3c3, -, -, OF|ZF, ARITH, SF|AF|PF|CF, [MA], 0x00000000  ; 83 /7 ib: borrow
    TM  {XA neg word [MA]}, 0x5a5a8000, 0xc3c3c3c3, -, -, ZF|AF, ARITH, OF|SF|PF|CF, [MA], 0x5a5a8000  ; f7 /3: overflow
    TM  {XA dec byte [MA]}, 0x5a5a5a01, 0xc3c3c3c3, -, -, OF|SF|AF|CF, ARITH, ZF|PF|CF, [MA], 0x5a5a5a00  ; fe /1: zero, CF kept

    ; ---- NOT (SDM "NOT"): no flags affected
    T   {not eax}, 0x0f0f00ff, -, -, -, OF|SF|ZF|AF|PF|CF, ARITH, OF|SF|ZF|AF|PF|CF, eax, 0xf0f0ff00
    TM  {not dword [MA]}, 0xffffffff, 0xc3c3c3c3, -, -, 0, ARITH, 0, [MA], 0x00000000
    T   {not cx}, 0x5a5a00ff, -, 0x5a5a00ff, -, OF|ZF|CF, ARITH, OF|ZF|CF, ecx, 0x5a5aff00
    T   {not al}, 0x5a5a5aff, -, -, -, 0, ARITH, 0, eax, 0x5a5a5a00
    TM  {not byte [MA]}, 0x5a5a5a00, 0xc3c3c3c3, -, -, OF|SF|ZF|AF|PF|CF, ARITH, OF|SF|ZF|AF|PF|CF, [MA], 0x5a5a5aff
    T   {not dh}, 0x5a5a5a5a, -, -, 0xc3c35ac3, SF|AF|PF, ARITH, SF|AF|PF, edx, 0xc3c3a5c3

%endmacro


; ---------------------------------------------------------------------------------
CODE16
main:
    INSTALL_RM_HANDLERS
    PRINT "alu: real mode", 10
%define MODE_CS 0xf000
%define XA a32
    SUITE
    ENTER_PM32 pm_main

CODE32
pm_main:
    PRINT "alu: protected mode", 10
%define MODE_CS SEL_CODE32
%define XA a16
    SUITE
    PASS
